"""Signed request objects (JAR, RFC 9101): an authorization request sent as a JWT the client
signed, in the `request` parameter of /authorize or of a pushed request (RFC 9126 §3).

The object is checked against the client's keys (oidc/client_keys.py) with the algorithm it
registered as `request_object_signing_alg`, or one of RS256, PS256 and ES256; `none` is never
taken. Its `iss` must be the client, its `aud` this server, and it must carry an `exp`; its
claims are then the request's parameters, and parameters outside it are ignored (RFC 9101 §5).
A `request_uri` that points to a request object elsewhere stays refused: only PAR's are taken.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from joserfc import jwt
from joserfc.errors import JoseError

from oidc.authorize_request import Params
from oidc.client_keys import ClientKeysUnavailable, client_keys
from oidc.errors import InvalidRequestObjectError, printable
from oidc.profiles import accepted_algs
from oidc.provider import Provider
from store import ClientRecord

REQUEST_OBJECT_ALGS = ["RS256", "PS256", "ES256"]
MAX_REQUEST_OBJECT_CHARS = 32 * 1024
MAX_LIFETIME = 3600  # exp at most an hour ahead, nbf at most an hour back (as FAPI 2.0 asks)
CLOCK_SKEW = 30
# The JWT's own claims, which are not parameters of the request.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})


async def request_object_params(
    provider: Provider, client: ClientRecord, params: Params
) -> Params | None:
    """The parameters of the request object in `params`, checked; None when there is none.
    Raises `invalid_request_object` for one that does not pass."""
    values = params.get("request") or []
    if not values:
        return None
    if len(values) != 1:
        raise InvalidRequestObjectError("repeated parameter: request")
    claims = await verified_claims(provider, client, values[0])
    inner = {name: [_parameter(name, value)] for name, value in claims.items()
             if name not in JWT_CLAIMS}
    if inner.get("client_id", [client.client_id]) != [client.client_id]:
        raise InvalidRequestObjectError("the request object's client_id is another client's")
    if "request" in inner or "request_uri" in inner:
        raise InvalidRequestObjectError("a request object cannot hold another one")
    inner["client_id"] = [client.client_id]
    return inner


async def verified_claims(
    provider: Provider, client: ClientRecord, request_object: str
) -> dict[str, Any]:
    """The claims of a request object signed by `client` for this server, still valid."""
    if len(request_object) > MAX_REQUEST_OBJECT_CHARS:
        raise InvalidRequestObjectError("the request object is too large")
    try:
        keys = await client_keys(client, provider.outbound)
    except ClientKeysUnavailable as exc:
        raise InvalidRequestObjectError(f"no key to check the request object: {exc}") from exc
    registered = client.request_object_signing_alg
    algs = accepted_algs(provider.profile, client, [registered] if registered else REQUEST_OBJECT_ALGS)
    try:
        claims: dict[str, Any] = jwt.decode(request_object, keys, algorithms=algs).claims
    except (JoseError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise InvalidRequestObjectError("the request object's signature is invalid") from exc
    _check_claims(provider, client, claims)
    return claims


def _check_claims(provider: Provider, client: ClientRecord, claims: dict[str, Any]) -> None:
    now = provider.clock()
    if claims.get("iss") != client.client_id:
        raise InvalidRequestObjectError("the request object's iss must be the client_id")
    audience = claims.get("aud")
    listed = audience if isinstance(audience, list) else [audience]
    if provider.issuer not in listed:
        raise InvalidRequestObjectError("the request object's aud must be the issuer")
    exp, nbf = claims.get("exp"), claims.get("nbf", now)
    if not _is_time(exp) or not now - CLOCK_SKEW < exp <= now + MAX_LIFETIME:
        raise InvalidRequestObjectError("the request object has expired or lives too long")
    if not _is_time(nbf) or not now - MAX_LIFETIME <= nbf <= now + CLOCK_SKEW:
        raise InvalidRequestObjectError("the request object is not valid now (nbf)")


def _is_time(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parameter(name: str, value: object) -> str:
    """A claim as the request parameter it stands for: strings as they are, integers
    (max_age) in decimal, and the `claims` object as its JSON (OIDC Core §6.1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value)
    raise InvalidRequestObjectError(f"the request object's {printable(name)} is not a string")
