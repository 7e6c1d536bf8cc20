"""The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): client authentication, then the grant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response
from werkzeug.datastructures import MultiDict

from observe import count_token
from oidc.client_auth import authenticated_client
from oidc.client_credentials_grant import client_credentials
from oidc.code_grant import redeem_code
from oidc.device_authorization import GRANT_TYPE as DEVICE_CODE
from oidc.device_authorization import device_code_grant
from oidc.dpop import current_nonce, proof_key
from oidc.errors import (
    InvalidDPoPProofError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
    printable,
)
from oidc.http import (
    NO_STORE,
    BackChannelRequest,
    JsonAnswer,
    back_channel_request,
    json_response,
    oauth_error_answer,
)
from oidc.profiles import is_fapi2
from oidc.provider import Provider, current_provider
from oidc.refresh_grant import refresh
from oidc.token_exchange_grant import GRANT_TYPE as TOKEN_EXCHANGE
from oidc.token_exchange_grant import exchange
from store import ClientRecord

blueprint = Blueprint("token", __name__)

# A grant's handler gets the thumbprint of the DPoP key the request proved, if any (`jkt`).
GrantHandler = Callable[
    [Provider, ClientRecord, MultiDict[str, str], str | None], Awaitable[dict[str, Any]]
]
GRANT_HANDLERS: dict[str, GrantHandler] = {
    "authorization_code": redeem_code,
    "refresh_token": refresh,
    "client_credentials": client_credentials,
    TOKEN_EXCHANGE: exchange,
    DEVICE_CODE: device_code_grant,
}
GRANT_TYPES_SUPPORTED = list(GRANT_HANDLERS)


async def token_answer(provider: Provider, request: BackChannelRequest) -> JsonAnswer:
    """The token endpoint's answer to `request`, whoever serves it (Quart, or the fast path)."""
    try:
        client, form = await authenticated_client(request, provider.client_assertions)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise InvalidRequestError("grant_type is required")
        if grant_type not in GRANT_TYPES_SUPPORTED:
            raise UnsupportedGrantTypeError(f"unsupported grant_type {printable(grant_type)}")
        if grant_type not in client.grant_types:
            raise UnauthorizedClientError(f"this client may not use {grant_type}")
        jkt = await _proved_key(provider, client, request)
        body = await GRANT_HANDLERS[grant_type](provider, client, form, jkt)
    except OAuth2Error as error:
        return oauth_error_answer(error)
    count_token(grant_type)
    nonce = current_nonce(provider)
    return JsonAnswer(body, headers=NO_STORE | ({"DPoP-Nonce": nonce} if nonce else {}))


async def _proved_key(
    provider: Provider, client: ClientRecord, request: BackChannelRequest
) -> str | None:
    """The DPoP key the request proved (RFC 9449 §5), or None without a proof."""
    if request.dpop is None:
        if client.dpop_bound_access_tokens or is_fapi2(provider.profile, client):
            raise InvalidDPoPProofError("this client must send a DPoP proof")
        return None
    return await proof_key(provider, client, request.dpop, "POST", provider.url(request.path))


@blueprint.route("/token", methods=["POST"])
async def token() -> Response:
    return json_response(await token_answer(current_provider(), await back_channel_request()))
