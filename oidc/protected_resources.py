"""What a protected resource of ours (UserInfo, the admin API) does with the access token it is
sent: Bearer tokens as RFC 6750 describes, DPoP-bound ones as RFC 9449 §7 does (a bound token
comes only with the `DPoP` scheme and a proof by its key, and a token of either kind is refused
under the other's scheme), and the `WWW-Authenticate` challenge of a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import Response, jsonify, request

from oidc.dpop import DPOP_ALGS, proof_key
from oidc.errors import (
    InsufficientScopeError,
    InvalidDPoPProofError,
    InvalidRequestError,
    InvalidTokenError,
    OAuth2Error,
    UseDPoPNonceError,
)
from oidc.provider import Provider
from oidc.tokens import audiences, verify_access_token
from store import ClientRecord, GrantRecord

DPOP_ERRORS = (InvalidDPoPProofError, UseDPoPNonceError)


@dataclass(frozen=True)
class ResourceToken:
    """A valid access token presented to a resource: its claims, grant and client."""

    claims: dict[str, Any]
    grant: GrantRecord
    client: ClientRecord

    @property
    def scopes(self) -> set[str]:
        return set(str(self.claims.get("scope", "")).split())


class NoToken(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1: with no credentials, answer 401 with no error code."""

    status_code = 401


def token_scheme() -> str:
    """`dpop` for a token sent with the DPoP scheme, else `bearer` (a token in the form too):
    the scheme the answer's challenge speaks, whatever else is wrong with the request."""
    scheme = (request.headers.get("Authorization") or "").partition(" ")[0]
    return "dpop" if scheme.lower() == "dpop" else "bearer"


async def _presented_token(form_allowed: bool) -> str:
    """The access token, from the Authorization header (Bearer or DPoP) or the form."""
    header = request.headers.get("Authorization")
    form_token = None
    if form_allowed and request.method == "POST" and (
        request.mimetype == "application/x-www-form-urlencoded"
    ):
        form_token = (await request.form).get("access_token")
    if header is not None and form_token is not None:
        # RFC 6750 §2: clients MUST NOT use more than one method to transmit the token.
        raise InvalidRequestError("send the access token one way only")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "dpop"):
            raise NoToken()  # RFC 6750 §3.1: another scheme is no Bearer credential at all
        if not token.strip():
            raise InvalidRequestError("the access token is empty")
        return token.strip()
    if form_token:
        return str(form_token)
    raise NoToken()


async def _check_binding(
    provider: Provider, client: ClientRecord, token: str, claims: dict[str, Any]
) -> None:
    """RFC 9449 §7.1: a DPoP-bound token needs the DPoP scheme and a proof by its key."""
    bound = claims.get("cnf", {}).get("jkt") if isinstance(claims.get("cnf"), dict) else None
    if token_scheme() == "bearer":
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


async def resource_token(
    provider: Provider, audience: str, form_allowed: bool = False
) -> ResourceToken:
    """The valid access token of this request, issued for `audience` (RFC 9068 §4, RFC 8707: a
    token issued for another resource is not valid here); raises the `OAuth2Error` to answer
    with `challenge` otherwise."""
    token = await _presented_token(form_allowed)
    claims, grant = await verify_access_token(provider, token)
    if audience not in audiences(claims):
        raise InvalidTokenError("the access token was not issued for this resource")
    client = await provider.store.clients.get(str(claims.get("client_id")))
    if client is None:
        raise InvalidTokenError("the client of this access token no longer exists")
    await _check_binding(provider, client, token, claims)
    return ResourceToken(claims, grant, client)


def challenge(error: OAuth2Error, scheme: str, realm: str = "gatehouse") -> Response:
    """The refusal of a resource request: its status, JSON body and `WWW-Authenticate`."""
    parts = [f'realm="{realm}"']
    if error.error:
        parts.append(f'error="{error.error}"')
        if description := error.get_error_description():
            parts.append(f'error_description="{description}"')
    response = jsonify(dict(error.get_body()) if error.error else {})
    response.status_code = (
        error.status_code
        if isinstance(error, (InvalidTokenError, NoToken, InsufficientScopeError))
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
