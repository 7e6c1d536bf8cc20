"""The UserInfo endpoint (OIDC Core §5.3), a protected resource (oidc/protected_resources.py:
Bearer and DPoP-bound tokens)."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from oidc.claims import user_claims
from oidc.errors import InsufficientScopeError, InvalidTokenError, OAuth2Error
from oidc.profiles import signing_alg
from oidc.protected_resources import challenge, resource_token, token_scheme
from oidc.provider import current_provider
from oidc.tokens import userinfo_audience

blueprint = Blueprint("userinfo", __name__)


@blueprint.route("/userinfo", methods=["GET", "POST"])
async def userinfo() -> Response:
    provider = current_provider()
    try:
        found = await resource_token(provider, userinfo_audience(provider), form_allowed=True)
        if "openid" not in found.scopes:
            raise InsufficientScopeError("the access token was not issued for openid")
        user = await provider.store.users.get(str(found.claims["sub"]))
        if user is None or user.disabled:
            raise InvalidTokenError("the user no longer exists")
    except OAuth2Error as error:
        return challenge(error, token_scheme())
    claims, grant, client = found.claims, found.grant, found.client
    released = user_claims(
        user, client, str(claims["scope"]).split(), grant.claims.get("userinfo", ())
    )
    if client.userinfo_signed_response_alg:
        # OIDC Core §5.3.2: a signed response is a JWT with iss and aud added.
        signed = provider.keys.sign(
            {**released, "iss": provider.issuer, "aud": client.client_id},
            alg=signing_alg(provider.profile, client, client.userinfo_signed_response_alg),
        )
        response = Response(signed, content_type="application/jwt")
    else:
        response = jsonify(released)
    response.headers["Cache-Control"] = "no-store"
    return response
