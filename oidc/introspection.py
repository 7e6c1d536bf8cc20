"""Token introspection (RFC 7662). A confidential client sees its own tokens; a client registered
with `may_introspect_others` (a resource server) also sees other clients' access tokens. Any other
token reads as inactive, so that clients learn nothing of each other's users (§4)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify

from oidc.client_auth import authenticated_client
from oidc.errors import ClientAuthenticationFailed, InvalidRequestError, OAuth2Error
from oidc.http import NO_STORE, back_channel_request, oauth_error_response
from oidc.provider import current_provider
from oidc.token_lookup import find_token

blueprint = Blueprint("introspection", __name__)


@blueprint.route("/introspect", methods=["POST"])
async def introspect() -> Response:
    provider = current_provider()
    try:
        client, form = await authenticated_client(
            await back_channel_request(), provider.client_assertions
        )
        if client.is_public:
            # §2.1: the endpoint requires authorization; a public client proves nothing.
            raise ClientAuthenticationFailed("public clients cannot introspect")
        token = form.get("token")
        if not token:
            raise InvalidRequestError("token is required")
        found = await find_token(provider, token, form.get("token_type_hint"))
    except OAuth2Error as error:
        return oauth_error_response(error)
    body: dict[str, Any] = {"active": False}
    allowed = found is not None and (
        found.client_id == client.client_id
        or (found.kind == "access_token" and client.may_introspect_others)
    )
    if found is not None and allowed and found.active(provider.clock()):
        assert found.grant is not None
        body = {
            "active": True,
            "scope": found.scope,
            "client_id": found.client_id,
            "sub": found.grant.subject,
            "iss": provider.issuer,
            "iat": int(found.issued_at),
            "exp": int(found.expires_at),
        }
        if found.kind == "access_token":
            cnf = found.claims.get("cnf")
            body |= {
                # RFC 9449 §6.2: a bound token says so, with the key it is bound to.
                "token_type": "DPoP" if cnf else "Bearer",
                "aud": found.claims.get("aud"),
                "jti": found.claims.get("jti"),
            } | ({"cnf": cnf} if cnf else {})
    response = jsonify(body)
    response.headers.update(NO_STORE)
    return response
