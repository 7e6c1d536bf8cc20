"""Pushed authorization requests (RFC 9126).

A client posts its authorization request to the PAR endpoint, authenticated exactly as at the
token endpoint, and gets back a `request_uri`; it then sends the browser to /authorize with only
its `client_id` and that `request_uri`. The request's parameters never pass through the browser,
where they could be read or changed, and only the client that pushed them can use them, once,
within `pushed_request_lifetime`.
"""

from __future__ import annotations

import secrets

from quart import Blueprint, Response

from core import N_, ErrorPage, digest
from oidc.authorize_request import CHECKS, CHECKS_BEFORE_REDIRECT, Params
from oidc.client_auth import authenticated_client
from oidc.dpop import proof_key
from oidc.errors import InvalidDPoPProofError, InvalidRequestError, OAuth2Error
from oidc.http import (
    NO_STORE,
    BackChannelRequest,
    JsonAnswer,
    back_channel_request,
    json_response,
    oauth_error_answer,
)
from oidc.profiles import check_authorization_request, is_fapi2
from oidc.provider import Provider, current_provider
from oidc.request_objects import request_object_params
from store import ClientRecord, PushedRequestRecord

PAR_PATH = "/par"
# RFC 9126 §2.2: the request_uri is a URN of this form; what follows is a random reference.
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# The parameters of client authentication are not part of the authorization request.
AUTHENTICATION_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})

blueprint = Blueprint("pushed_requests", __name__)


def check_pushable(params: Params, client: ClientRecord) -> None:
    """The request checked as the authorization endpoint checks it (RFC 9126 §2.1), with every
    failure an OAuth error answered as JSON (§2.3): nothing here is shown to a person."""
    if "request_uri" in params:
        raise InvalidRequestError("request_uri cannot be pushed")
    try:
        for check in CHECKS_BEFORE_REDIRECT:
            check(params, client)
    except ErrorPage as refused:
        raise InvalidRequestError("redirect_uri is not registered for this client") from refused
    for check in CHECKS:
        check(params, client)


async def _bound_to_proof(
    provider: Provider, client: ClientRecord, request: BackChannelRequest, params: Params
) -> Params:
    """RFC 9449 §10.1: a DPoP proof at the PAR endpoint binds the code to its key, as
    `dpop_jkt` would; when both are there they must name the same key."""
    if request.dpop is None:
        return params
    jkt = await proof_key(provider, client, request.dpop, "POST", provider.url(request.path))
    if params.get("dpop_jkt", [jkt]) != [jkt]:
        raise InvalidDPoPProofError("dpop_jkt is not the key of the DPoP proof")
    return {**params, "dpop_jkt": [jkt]}


def requires_pushed_requests(provider: Provider, client: ClientRecord) -> bool:
    """RFC 9126 §6: the server, or the client's registration, may require PAR."""
    return (
        provider.require_pushed_authorization_requests
        or client.require_pushed_authorization_requests
        or is_fapi2(provider.profile, client)
    )


async def push_answer(provider: Provider, request: BackChannelRequest) -> JsonAnswer:
    """The PAR endpoint's answer: 201 with the `request_uri` and its lifetime (RFC 9126 §2.2)."""
    try:
        client, form = await authenticated_client(request, provider.client_assertions)
        form_params = {
            name: form.getlist(name) for name in form if name not in AUTHENTICATION_PARAMS
        }
        form_params["client_id"] = [client.client_id]  # absent from the form with Basic auth
        params = await request_object_params(provider, client, form_params) or form_params
        params = await _bound_to_proof(provider, client, request, params)
        check_pushable(params, client)
        check_authorization_request(provider, client, params)
    except OAuth2Error as error:
        return oauth_error_answer(error)
    reference = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
    lifetime = provider.pushed_request_lifetime
    await provider.store.pushed_requests.add(PushedRequestRecord(
        id=digest(reference), client_id=client.client_id, params=dict(params),
        expires_at=provider.clock() + lifetime,
    ))
    body = {"request_uri": REQUEST_URI_PREFIX + reference, "expires_in": lifetime}
    return JsonAnswer(body, 201, dict(NO_STORE))


async def pushed_params(provider: Provider, client: ClientRecord, params: Params) -> Params | None:
    """The parameters pushed under the request's `request_uri`, used up; None when it names no
    pushed request. Only the pushed parameters count (RFC 9126 §4): any others beside the
    `client_id` are ignored, and a `request_uri` of another client, used already or expired is
    refused with a page (there is no redirect URI yet that could be trusted with an error)."""
    values = params.get("request_uri") or []
    if len(values) != 1 or not values[0].startswith(REQUEST_URI_PREFIX):
        return None
    reference = values[0].removeprefix(REQUEST_URI_PREFIX)
    used = await provider.store.pushed_requests.redeem(
        digest(reference), provider.clock(), client.client_id
    )
    if used is None or not used.first:
        raise ErrorPage(
            N_("This sign-in link has expired"),
            N_("The application's sign-in request was used already or is too old. Go back to"
               " the application and start again."),
        )
    return used.record.params


@blueprint.route(PAR_PATH, methods=["POST"])
async def pushed_authorization_request() -> Response:
    return json_response(await push_answer(current_provider(), await back_channel_request()))
