"""The UserInfo endpoint (OIDC Core §5.3), with Bearer tokens as RFC 6750 describes and
DPoP-bound ones as RFC 9449 §7 does: a bound token comes only with the `DPoP` scheme and a proof
by its key, and a token of either kind is refused under the other's scheme."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify, request

from oidc.claims import user_claims
from oidc.dpop import DPOP_ALGS, proof_key
from oidc.errors import (
    InsufficientScopeError,
    InvalidDPoPProofError,
    InvalidRequestError,
    InvalidTokenError,
    OAuth2Error,
    UseDPoPNonceError,
)
from oidc.profiles import signing_alg
from oidc.provider import Provider, current_provider
from oidc.tokens import audiences, userinfo_audience, verify_access_token
from store import ClientRecord

blueprint = Blueprint("userinfo", __name__)


def _scheme() -> str:
    """`dpop` for a token sent with the DPoP scheme, else `bearer` (a token in the form too):
    the scheme the answer's challenge speaks, whatever else is wrong with the request."""
    scheme = (request.headers.get("Authorization") or "").partition(" ")[0]
    return "dpop" if scheme.lower() == "dpop" else "bearer"


async def _presented_token() -> str:
    """The access token, from the Authorization header (Bearer or DPoP) or the form."""
    header = request.headers.get("Authorization")
    form_token = None
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        form_token = (await request.form).get("access_token")
    if header is not None and form_token is not None:
        # RFC 6750 §2: clients MUST NOT use more than one method to transmit the token.
        raise InvalidRequestError("send the access token one way only")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "dpop"):
            raise _NoToken()  # RFC 6750 §3.1: another scheme is no Bearer credential at all
        if not token.strip():
            raise InvalidRequestError("the access token is empty")
        return token.strip()
    if form_token:
        return str(form_token)
    raise _NoToken()


async def _check_binding(
    provider: Provider, client: ClientRecord, scheme: str, token: str, claims: dict[str, Any]
) -> None:
    """RFC 9449 §7.1: a DPoP-bound token needs the DPoP scheme and a proof by its key."""
    bound = claims.get("cnf", {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
    if scheme == "bearer":
        if bound is not None:
            raise InvalidTokenError("a DPoP-bound access token cannot be used as a Bearer token")
        return
    if bound is None:
        raise InvalidTokenError("the access token is not bound to a DPoP key")
    proofs = request.headers.getlist("DPoP")
    if len(proofs) != 1:
        raise InvalidDPoPProofError("one DPoP proof is required")
    proved = await proof_key(
        provider, client, proofs[0], request.method, provider.url(request.path), token
    )
    if proved != bound:
        raise InvalidDPoPProofError("the DPoP proof is not made with the access token's key")


class _NoToken(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1: with no credentials, answer 401 with no error code."""

    status_code = 401


DPOP_ERRORS = (InvalidDPoPProofError, UseDPoPNonceError)


def _challenge(error: OAuth2Error, scheme: str) -> Response:
    parts = ['realm="gatehouse"']
    if error.error:
        parts.append(f'error="{error.error}"')
        if description := error.get_error_description():
            parts.append(f'error_description="{description}"')
    response = jsonify(dict(error.get_body()) if error.error else {})
    response.status_code = (
        error.status_code
        if isinstance(error, (InvalidTokenError, _NoToken, InsufficientScopeError))
        else 401 if isinstance(error, DPOP_ERRORS)  # RFC 9449 §7.1
        else 400
    )
    if scheme == "dpop" or isinstance(error, DPOP_ERRORS):
        parts.append(f'algs="{" ".join(DPOP_ALGS)}"')
        response.headers["WWW-Authenticate"] = "DPoP " + ", ".join(parts)
    else:
        response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(parts)
    if isinstance(error, UseDPoPNonceError):
        response.headers["DPoP-Nonce"] = error.nonce
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/userinfo", methods=["GET", "POST"])
async def userinfo() -> Response:
    provider = current_provider()
    scheme = _scheme()
    try:
        token = await _presented_token()
        claims, grant = await verify_access_token(provider, token)
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
        await _check_binding(provider, client, scheme, token, claims)
    except OAuth2Error as error:
        return _challenge(error, scheme)
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
