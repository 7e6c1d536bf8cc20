"""`private_key_jwt` client authentication (OIDC Core §9, RFC 7523 §3): the client signs a short
JWT with its own key; we check it against the keys it registered (oidc/client_keys.py) and
remember its `jti` until it expires, so it works once."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core import OutboundHttp
from oidc.client_keys import ClientKeysUnavailable, client_keys
from oidc.errors import ClientAuthenticationFailed
from oidc.profiles import accepted_algs
from store import ClientRecord, Store

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
MAX_LIFETIME = 600  # an assertion valid longer than this is refused
CLOCK_SKEW = 30


def _refused(description: str) -> ClientAuthenticationFailed:
    return ClientAuthenticationFailed(description)


def asserted_client_id(assertion: str) -> str:
    """The `iss` of an assertion, read before its signature can be checked (to find the client)."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise _refused("the client assertion is not a JWT") from exc
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise _refused("the client assertion has no iss")
    return issuer


@dataclass(frozen=True)
class ClientAssertions:
    issuer: str
    store: Store
    outbound: OutboundHttp
    clock: Callable[[], float]
    profile: str | None = None  # the server's (oidc/profiles.py)

    async def verify(self, client: ClientRecord, assertion: str, endpoint_url: str) -> None:
        """Raise `invalid_client` unless `assertion` is a fresh, unused JWT signed by `client`."""
        try:
            algs = accepted_algs(self.profile, client, ASSERTION_ALGS)
            token = jwt.decode(assertion, await self._keys(client), algorithms=algs)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _refused("the client assertion's signature is invalid") from exc
        claims, now = token.claims, self.clock()
        self._check_claims(client, claims, endpoint_url, now)
        key = f"client-assertion:{client.client_id}:{claims['jti']}"
        if not await self.store.replay.first_use(key, float(claims["exp"]), now):
            raise _refused("the client assertion was already used")

    def _check_claims(
        self, client: ClientRecord, claims: dict[str, Any], endpoint_url: str, now: float
    ) -> None:
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise _refused("iss and sub of the client assertion must be the client_id")
        audience = claims.get("aud")
        listed = audience if isinstance(audience, list) else [audience]
        audiences = {a for a in listed if isinstance(a, str)}  # an object is no audience
        # RFC 7523 §3: the token endpoint's URL; the issuer is accepted too (OIDC Core §9).
        if not audiences & {self.issuer, endpoint_url, f"{self.issuer}/token"}:
            raise _refused("the client assertion is not meant for this server")
        exp, nbf, jti = claims.get("exp"), claims.get("nbf"), claims.get("jti")
        if not isinstance(exp, int) or not now - CLOCK_SKEW < exp <= now + MAX_LIFETIME:
            raise _refused("the client assertion has expired or lives too long")
        if nbf is not None and (not isinstance(nbf, int) or nbf > now + CLOCK_SKEW):
            raise _refused("the client assertion is not valid yet")
        if not isinstance(jti, str) or not jti:
            raise _refused("the client assertion needs a jti")

    async def _keys(self, client: ClientRecord) -> KeySet:
        try:
            return await client_keys(client, self.outbound)
        except ClientKeysUnavailable as exc:
            raise _refused(str(exc)) from exc
