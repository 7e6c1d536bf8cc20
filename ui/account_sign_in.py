"""How the account page signs people in: it is a client of this provider (`gatehouse-account`),
sent through `/authorize` like any other, with state and PKCE kept in a short signed cookie. Its
actions (add a passkey, ...) are runs of the flows `account_flows` names, started on the SSO
session; when they finish, the same callback takes the browser back to the page."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from itsdangerous import BadSignature, URLSafeTimedSerializer
from quart import Blueprint, Response, request, url_for

from core import N_, ErrorPage, same_secret
from engine.assurance import ACR_BY_FACTORS
from oidc.authorize import start_run
from oidc.authorize_request import build_request
from oidc.code_grant import use_code
from oidc.cookies import clear_cookie, cookie_name, set_cookie
from oidc.errors import OAuth2Error
from oidc.http import see_other
from oidc.provider import Provider, current_provider
from store.records import ClientRecord, FlowRunRecord, SessionRecord
from ui.results import respond

blueprint = Blueprint("account_sign_in", __name__)

CLIENT_ID = "gatehouse-account"
COOKIE = "gh_account"
COOKIE_LIFETIME = 1800
CALLBACK = "/account/signed-in"


def account_client(issuer: str) -> ClientRecord:
    """The account page as a public client of this provider (PKCE, no secret)."""
    return ClientRecord(
        client_id=CLIENT_ID, client_name="Your account", token_endpoint_auth_method="none",
        redirect_uris=[issuer.rstrip("/") + CALLBACK], scope="openid",
    )


def _serializer(provider: Provider) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(provider.device_key, salt="gatehouse.account-sign-in")


def _request(provider: Provider, **extra: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Authorize parameters for the account client, and what the callback must find again."""
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    params = {
        "client_id": CLIENT_ID, "redirect_uri": provider.url(CALLBACK), "response_type": "code",
        "scope": "openid", "state": state, "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256", **extra,
    }
    return {k: [v] for k, v in params.items()}, {"state": state, "verifier": verifier}


def _remembering(provider: Provider, response: Response, pending: dict[str, str]) -> Response:
    set_cookie(provider, response, COOKIE, _serializer(provider).dumps(pending), COOKIE_LIFETIME)
    return response


def sign_in(again_as: str | None = None, two_factors: bool = False) -> Response:
    """Off to `/authorize`; `again_as` (a username) asks that user to prove it is them now,
    with two factors (the acr that `acr_flows` maps to step-up) when `two_factors`."""
    provider = current_provider()
    extra = {"prompt": "login", "login_hint": again_as} if again_as else {}
    if two_factors:
        extra["acr_values"] = ACR_BY_FACTORS[2]
    params, pending = _request(provider, **extra)
    query = urlencode({name: values[0] for name, values in params.items()})
    return _remembering(provider, see_other(url_for("authorize.authorize") + "?" + query), pending)


async def start_action(session: SessionRecord, action: str, flow: str) -> Response:
    """Run `flow` for a signed-in user (its steps see the session's proofs), then come back."""
    provider = current_provider()
    client = await provider.store.clients.get(CLIENT_ID)
    if client is None:
        raise ErrorPage(N_("Unknown application"), N_("Go back to the application."), status=410)
    params, pending = _request(provider)
    response = await respond(
        await start_run(provider, client, build_request(params, client), session, flow)
    )
    return _remembering(provider, response, {**pending, "done": action})


def is_account_action(provider: Provider, run: FlowRunRecord) -> bool:
    """Whether `run` is one of the account page's actions (not a sign-in to the page): its
    pages belong to the account, whose user is signed in already."""
    flow = run.stack[0].flow if run.stack else run.flow
    return run.client_id == CLIENT_ID and flow in provider.engine.flows.spec.account_flows.values()


def _pending(provider: Provider) -> dict[str, Any] | None:
    value = request.cookies.get(cookie_name(provider, COOKIE), "")
    try:
        loaded = _serializer(provider).loads(value, max_age=COOKIE_LIFETIME) if value else None
    except BadSignature:
        return None
    return loaded if isinstance(loaded, dict) else None


@blueprint.get(CALLBACK)
async def signed_in() -> Response:
    """The account client's redirect URI: check state, redeem the code (single use, PKCE)."""
    provider = current_provider()
    pending = _pending(provider)
    state, code = request.args.get("state", ""), request.args.get("code", "")
    cannot_continue = ErrorPage(
        N_("Sign-in cannot continue"), N_("Go back to your account and try again."),
        status=400, link=(url_for("account.page"), N_("Your account")),
    )
    if pending is None or not same_secret(state, str(pending.get("state", ""))) or not code:
        raise cannot_continue
    client = await provider.store.clients.get(CLIENT_ID)
    assert client is not None
    try:
        grant, _ = await use_code(provider, client, code, provider.url(CALLBACK),
                                  str(pending["verifier"]))
    except OAuth2Error as exc:
        raise cannot_continue from exc
    await provider.store.grants.revoke(grant.id)  # the page needs no tokens: the session is it
    done = pending.get("done")
    response = see_other(url_for("account.page", done=done) if done else url_for("account.page"))
    clear_cookie(provider, response, COOKIE)
    return response
