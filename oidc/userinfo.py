"""The UserInfo endpoint (OIDC Core §5.3), with Bearer tokens as RFC 6750 describes."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request

from oidc.claims import user_claims
from oidc.errors import InsufficientScopeError, InvalidRequestError, InvalidTokenError, OAuth2Error
from oidc.provider import current_provider
from oidc.tokens import audiences, userinfo_audience, verify_access_token

blueprint = Blueprint("userinfo", __name__)


async def _bearer_token() -> str:
    header = request.headers.get("Authorization")
    form_token = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        form_token = (await request.form).get("access_token")
    if header is not None and form_token is not None:
        # RFC 6750 §2: clients MUST NOT use more than one method to transmit the token.
        raise InvalidRequestError("send the access token one way only")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            raise _NoToken()  # RFC 6750 §3.1: another scheme is no Bearer credential at all
        if not token.strip():
            raise InvalidRequestError("the Bearer token is empty")
        return token.strip()
    if form_token:
        return str(form_token)
    raise _NoToken()


class _NoToken(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1: with no credentials, answer 401 with no error code."""

    status_code = 401


def _challenge(error: OAuth2Error) -> Response:
    parts = ['realm="gatehouse"']
    if error.error:
        parts.append(f'error="{error.error}"')
        if description := error.get_error_description():
            parts.append(f'error_description="{description}"')
    response = jsonify(dict(error.get_body()) if error.error else {})
    response.status_code = (
        error.status_code
        if isinstance(error, (InvalidTokenError, _NoToken, InsufficientScopeError))
        else 400
    )
    response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(parts)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/userinfo", methods=["GET", "POST"])
async def userinfo() -> Response:
    provider = current_provider()
    try:
        claims, grant = await verify_access_token(provider, await _bearer_token())
        if userinfo_audience(provider) not in audiences(claims):
            # RFC 9068 §4, RFC 8707: a token issued for another resource is not valid here.
            raise InvalidTokenError("the access token was not issued for UserInfo")
        if "openid" not in str(claims.get("scope", "")).split():
            raise InsufficientScopeError("the access token was not issued for openid")
        user = await provider.store.users.get(str(claims["sub"]))
        if user is None:
            raise InvalidTokenError("the user no longer exists")
        client = await provider.store.clients.get(str(claims.get("client_id")))
        if client is None:
            raise InvalidTokenError("the client of this access token no longer exists")
    except OAuth2Error as error:
        return _challenge(error)
    released = user_claims(
        user, client, str(claims["scope"]).split(), grant.claims.get("userinfo", ())
    )
    if client.userinfo_signed_response_alg:
        # OIDC Core §5.3.2: a signed response is a JWT with iss and aud added.
        signed = provider.keys.sign(
            {**released, "iss": provider.issuer, "aud": client.client_id},
            alg=client.userinfo_signed_response_alg,
        )
        response = Response(signed, content_type="application/jwt")
    else:
        response = jsonify(released)
    response.headers["Cache-Control"] = "no-store"
    return response
