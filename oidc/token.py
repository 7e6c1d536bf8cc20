"""The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): the authorization_code grant."""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from quart import Blueprint, Response, jsonify, request

from oidc.client_auth import authenticate_client
from oidc.cookies import digest
from oidc.errors import (
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from oidc.http import NO_STORE, oauth_error_response
from oidc.provider import Provider, current_provider
from oidc.tokens import mint_access_token, mint_id_token
from store.records import ClientRecord, CodeRecord

blueprint = Blueprint("token", __name__)

GRANT_TYPES_SUPPORTED = ["authorization_code"]


@blueprint.route("/token", methods=["POST"])
async def token() -> Response:
    provider = current_provider()
    try:
        if request.mimetype != "application/x-www-form-urlencoded":
            raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
        form = await request.form
        if repeated := sorted(k for k in form if len(form.getlist(k)) > 1):
            raise InvalidRequestError(f"repeated parameter: {', '.join(repeated)}")
        client = await authenticate_client(request, form, provider.store)
        grant_type = form.get("grant_type")
        if grant_type not in GRANT_TYPES_SUPPORTED:
            raise UnsupportedGrantTypeError(f"unsupported grant_type {grant_type}")
        if grant_type not in client.grant_types:
            raise UnauthorizedClientError(f"this client may not use {grant_type}")
        body = await _authorization_code(provider, client, form)
    except OAuth2Error as error:
        return oauth_error_response(error)
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response


async def _authorization_code(
    provider: Provider, client: ClientRecord, form: Any
) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise InvalidRequestError("code is required")
    # Consumed before anything else is checked: a code is single use whatever happens next.
    grant = await provider.store.codes.consume(digest(code), provider.clock())
    if grant is None or grant.client_id != client.client_id:
        raise InvalidGrantError("the code is invalid, expired, used, or issued to another client")
    # RFC 6749 §4.1.3: redirect_uri must be present and identical when it was in the request.
    if form.get("redirect_uri") != grant.redirect_uri:
        raise InvalidGrantError("redirect_uri does not match the authorization request")
    _check_pkce(grant, form.get("code_verifier"))
    now = int(provider.clock())
    access_token = mint_access_token(provider, client, grant, now)
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": provider.access_token_lifetime,
        "scope": grant.scope,
        "id_token": mint_id_token(provider, client, grant, access_token, now),
    }


def _check_pkce(grant: CodeRecord, verifier: str | None) -> None:
    """RFC 7636 §4.6; a verifier without a challenge is refused too (RFC 9700 §2.1.1)."""
    if grant.code_challenge is None:
        if verifier is not None:
            raise InvalidGrantError("code_verifier sent but no code_challenge was")
        return
    if verifier is None:
        raise InvalidGrantError("code_verifier is required")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), grant.code_challenge):
        raise InvalidGrantError("code_verifier does not match code_challenge")
