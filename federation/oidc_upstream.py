"""An upstream OpenID provider: discovery, a nonce, the ID token checked against the provider's
keys (OIDC Core §3.1.3.7), then its UserInfo (§5.3.4).

Metadata and keys are read lazily and kept for an hour, so a provider that is down does not stop
Gatehouse from starting; an unknown `kid` re-reads the keys (at most once a minute).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core import OutboundHttp
from federation.config import UpstreamProviderSettings
from federation.issuers import IssuerMismatch, IssuerRule
from federation.upstream import (
    Attempt,
    Endpoints,
    Upstream,
    UpstreamError,
    UpstreamIdentity,
    bounded,
)

CACHE_SECONDS = 3600
KEYS_REFRESH_SECONDS = 60
LEEWAY = 60
# Asymmetric algorithms only: a symmetric one would make the client secret a signing key.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class OidcUpstream(Upstream):
    proves_freshness = True

    def __init__(
        self, settings: UpstreamProviderSettings, redirect_uri: str, outbound: OutboundHttp,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings, redirect_uri, outbound, clock)
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: tuple[float, KeySet] | None = None
        self._lock = asyncio.Lock()

    @property
    def issuer(self) -> str:
        assert self.settings.issuer is not None  # required of OpenID providers by the settings
        return self.settings.issuer

    async def metadata(self) -> dict[str, Any]:
        """The provider's metadata; its `issuer` must be the configured one (Discovery §4.3)."""
        now = self.clock()
        if self._metadata is not None and now - self._metadata[0] < CACHE_SECONDS:
            return self._metadata[1]
        async with self._lock:
            if self._metadata is None or now - self._metadata[0] >= CACHE_SECONDS:
                found = await self._get_json(self.issuer + "/.well-known/openid-configuration")
                try:
                    IssuerRule.of(self.settings, found.get("issuer"))
                except IssuerMismatch as exc:
                    raise UpstreamError(str(exc)) from exc
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(name), str):
                        raise UpstreamError(f"the metadata has no {name}")
                algs = found.get("id_token_signing_alg_values_supported", [])
                if not isinstance(algs, list) or not all(isinstance(a, str) for a in algs):
                    raise UpstreamError("the metadata's id_token_signing_alg_values_supported is"
                                        " not a list of names")
                self._metadata = (now, found)
        return self._metadata[1]

    async def endpoints(self) -> Endpoints:
        metadata = await self.metadata()
        return Endpoints(metadata["authorization_endpoint"], metadata["token_endpoint"])

    def authorization_params(
        self, attempt: Attempt, login_hint: str | None, login: bool
    ) -> dict[str, str]:
        """The nonce; and `prompt=login` and `max_age`, so that a sign-in our client wants fresh
        is fresh at the provider too."""
        extra = {"nonce": attempt.nonce}
        if login_hint:
            extra["login_hint"] = login_hint
        if login:
            extra["prompt"] = "login"
        if attempt.max_age is not None:
            extra["max_age"] = str(attempt.max_age)
        return extra

    def _issuers(self, metadata: Mapping[str, Any]) -> IssuerRule:
        """Which issuers the provider's answers may name (`metadata` was checked against it)."""
        return IssuerRule.of(self.settings, metadata["issuer"])

    async def check_response(self, params: Mapping[str, str]) -> None:
        # RFC 9207: an `iss` must name this provider; one that promises it must send it.
        metadata = await self.metadata()
        iss = params.get("iss")
        if iss is not None and not self._issuers(metadata).names(iss):
            raise UpstreamError(f"the response came from issuer {iss!r}")
        if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
            raise UpstreamError("the response has no iss parameter")

    async def identity(
        self, client: AsyncOAuth2Client, token: Mapping[str, Any], attempt: Attempt
    ) -> UpstreamIdentity:
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise UpstreamError("the token response has no ID token")
        metadata = await self.metadata()
        claims = await self._verified(id_token, attempt.nonce, metadata, attempt.max_age)
        userinfo = await self._userinfo(client, metadata, claims["sub"])
        # OIDC Core §2: a `sub` is unique within its issuer only, and each tenant is an issuer.
        subject = f"{claims['tid']}/{claims['sub']}" if self.settings.multi_tenant else claims["sub"]
        return UpstreamIdentity(self.id, subject, bounded({**userinfo, **claims}))

    async def _verified(
        self, id_token: str, nonce: str, metadata: Mapping[str, Any], max_age: int | None = None
    ) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, times and nonce hold."""
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in SIGNING_ALGS if alg in offered]
        if not algorithms:  # an empty list would let the library fall back to its defaults
            raise UpstreamError(f"the provider signs ID tokens with none of {', '.join(SIGNING_ALGS)}")
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except (ValueError, JoseError):  # perhaps a key the provider has just added
                decoded = jwt.decode(
                    id_token, await self._key_set(refresh=True), algorithms=algorithms
                )
            issuer = self._issuers(metadata).for_token(decoded.claims)
            jwt.JWTClaimsRegistry(
                now=int(self.clock()), leeway=LEEWAY,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce},
                # OIDC Core §3.1.2.1: with max_age asked, auth_time is required.
                auth_time={"essential": max_age is not None},
            ).validate(decoded.claims)
            if max_age is not None and int(self.clock()) - int(decoded.claims["auth_time"]) > (
                max_age + LEEWAY
            ):
                raise UpstreamError(f"the provider's sign-in is older than max_age={max_age}")
        except (ValueError, JoseError) as exc:
            raise UpstreamError(f"the ID token is not valid: {exc}") from exc
        claims = dict(decoded.claims)
        aud = claims.get("aud")
        # OIDC Core §3.1.3.7 (4, 5): with several audiences, `azp` must be us.
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.settings.client_id:
            raise UpstreamError("the ID token is for several audiences and azp is not us")
        return claims

    async def _key_set(self, refresh: bool = False) -> KeySet:
        now = self.clock()
        if self._keys is not None and (
            now - self._keys[0] < (KEYS_REFRESH_SECONDS if refresh else CACHE_SECONDS)
        ):
            return self._keys[1]
        document = await self._get_json((await self.metadata())["jwks_uri"])
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamError(f"the provider's keys cannot be read: {exc}") from exc
        self._keys = (now, keys)
        return keys

    async def _userinfo(
        self, client: AsyncOAuth2Client, metadata: Mapping[str, Any], subject: str
    ) -> dict[str, Any]:
        """The UserInfo claims (none when the provider has no endpoint); its `sub` must be the
        ID token's (OIDC Core §5.3.4)."""
        endpoint = metadata.get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        claims = await self._get_with_token(client, endpoint, "UserInfo")
        if not isinstance(claims, dict) or claims.get("sub") != subject:
            raise UpstreamError("the UserInfo answer is not for the signed-in subject")
        return claims
