"""One upstream OpenID provider, seen from Gatehouse as its relying party: authorization code
with PKCE, state and nonce, the ID token checked against the provider's keys (OIDC Core
§3.1.3.7), then its UserInfo. Every request goes through the guarded outbound transport.

Metadata and keys are read lazily and kept for an hour, so a provider that is down does not stop
Gatehouse from starting; an unknown `kid` re-reads the keys (at most once a minute).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from federation.config import UpstreamProviderSettings
from oidc.outbound import OutboundHttp, OutboundRefused

CACHE_SECONDS = 3600
KEYS_REFRESH_SECONDS = 60
LEEWAY = 60
# Asymmetric algorithms only: a symmetric one would make the client secret a signing key.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
MAX_CLAIMS_BYTES = 8192
# What a provider's odd answer can raise on the way (besides UpstreamError): all of it means the
# upstream sign-in did not work, never a 500.
ANSWER_ERRORS = (
    AuthlibBaseError, OutboundRefused, httpx2.HTTPError, JoseError, ValueError, TypeError,
    KeyError, RecursionError,
)


class UpstreamError(Exception):
    """The upstream sign-in did not succeed; `reason` says why, for the log and the page."""

    def __init__(self, reason: str, denied: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.denied = reason, denied


@dataclass(frozen=True)
class Attempt:
    """What the browser carries to the provider and back, kept in the run meanwhile."""

    state: str
    nonce: str
    code_verifier: str
    max_age: int | None = None  # asked of the provider: its ID token must then carry auth_time

    @classmethod
    def new(cls, max_age: int | None = None) -> Attempt:
        return cls(generate_token(43), generate_token(43), generate_token(64), max_age)


@dataclass(frozen=True)
class UpstreamIdentity:
    """Who the provider says signed in: its `sub`, and the ID token's and UserInfo's claims."""

    provider: str
    subject: str
    claims: dict[str, Any]

    @property
    def amr(self) -> list[str]:
        amr = self.claims.get("amr")
        return [v for v in amr if isinstance(v, str)] if isinstance(amr, list) else []


@dataclass
class Upstream:
    settings: UpstreamProviderSettings
    redirect_uri: str
    outbound: OutboundHttp
    clock: Callable[[], float] = time.time
    _metadata: tuple[float, dict[str, Any]] | None = field(default=None, repr=False)
    _keys: tuple[float, KeySet] | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def id(self) -> str:
        return self.settings.id

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            token_endpoint_auth_method=self.settings.token_endpoint_auth_method,
            scope=" ".join(self.settings.scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=self.outbound.timeout,
            follow_redirects=False,
            transport=self.outbound.transport(),
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = await self.outbound.request("GET", url)
            document = json.loads(answer.body) if answer.status_code == 200 else None
        except ANSWER_ERRORS as exc:
            raise UpstreamError(f"cannot read {url}: {exc}") from exc
        if not isinstance(document, dict):
            raise UpstreamError(f"{url} answered {answer.status_code} without a JSON object")
        return document

    async def metadata(self) -> dict[str, Any]:
        """The provider's metadata; its `issuer` must be the configured one (Discovery §4.3)."""
        now = self.clock()
        if self._metadata is not None and now - self._metadata[0] < CACHE_SECONDS:
            return self._metadata[1]
        async with self._lock:
            if self._metadata is None or now - self._metadata[0] >= CACHE_SECONDS:
                found = await self._get_json(
                    self.settings.issuer + "/.well-known/openid-configuration"
                )
                if found.get("issuer") != self.settings.issuer:
                    raise UpstreamError(f"the metadata names issuer {found.get('issuer')!r}")
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(name), str):
                        raise UpstreamError(f"the metadata has no {name}")
                algs = found.get("id_token_signing_alg_values_supported", [])
                if not isinstance(algs, list) or not all(isinstance(a, str) for a in algs):
                    raise UpstreamError("the metadata's id_token_signing_alg_values_supported is"
                                        " not a list of names")
                self._metadata = (now, found)
        return self._metadata[1]

    async def authorization_url(
        self, attempt: Attempt, login_hint: str | None = None, login: bool = False
    ) -> str:
        """Where to send the browser: the provider's authorization endpoint, with PKCE (S256).
        `login` (our client asked for prompt=login) and the attempt's `max_age` go along, so
        that a sign-in our client wants fresh is fresh at the provider too."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        extra: dict[str, str] = {"login_hint": login_hint} if login_hint else {}
        if login:
            extra["prompt"] = "login"
        if attempt.max_age is not None:
            extra["max_age"] = str(attempt.max_age)
        try:
            async with self._client() as client:
                url, _ = client.create_authorization_url(
                    endpoint, state=attempt.state, code_verifier=attempt.code_verifier,
                    nonce=attempt.nonce, **extra,
                )
        except ANSWER_ERRORS as exc:
            raise UpstreamError(f"cannot build the authorization URL: {exc!r}") from exc
        return str(url)

    async def finish(self, params: Mapping[str, str], attempt: Attempt) -> UpstreamIdentity:
        """The identity the authorization response (`params`, state already checked) proves;
        `UpstreamError` for anything else."""
        try:
            return await self._finish(params, attempt)
        except ANSWER_ERRORS as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc}") from exc

    async def _finish(self, params: Mapping[str, str], attempt: Attempt) -> UpstreamIdentity:
        metadata = await self.metadata()
        # RFC 9207: an `iss` must name this provider; one that promises it must send it.
        iss = params.get("iss")
        if iss is not None and iss != self.settings.issuer:
            raise UpstreamError(f"the response came from issuer {iss!r}")
        if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
            raise UpstreamError("the response has no iss parameter")
        if "error" in params:
            raise UpstreamError(
                f"the provider answered {params['error'][:100]!r}",
                denied=params["error"] == "access_denied",
            )
        code = params.get("code")
        if not code:
            raise UpstreamError("the response has no code")
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=attempt.code_verifier,
                    grant_type="authorization_code",
                )
            except ANSWER_ERRORS as exc:
                raise UpstreamError(f"the token request failed: {exc!r}") from exc
            # RFC 6749 §5.1: a Bearer access token (for UserInfo) comes with the ID token.
            access_token, token_type = token.get("access_token"), token.get("token_type")
            if not (isinstance(access_token, str) and access_token and isinstance(token_type, str)
                    and token_type.lower() == "bearer"):
                raise UpstreamError("the token response has no Bearer access token")
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise UpstreamError("the token response has no ID token")
            claims = await self._verified(id_token, attempt.nonce, metadata, attempt.max_age)
            userinfo = await self._userinfo(client, metadata, claims["sub"])
        return UpstreamIdentity(self.id, claims["sub"], _bounded({**userinfo, **claims}))

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
                token = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except (ValueError, JoseError):  # perhaps a key the provider has just added
                token = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=algorithms)
            jwt.JWTClaimsRegistry(
                now=int(self.clock()), leeway=LEEWAY,
                iss={"essential": True, "value": self.settings.issuer},
                aud={"essential": True, "value": self.settings.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce},
                # OIDC Core §3.1.2.1: with max_age asked, auth_time is required.
                auth_time={"essential": max_age is not None},
            ).validate(token.claims)
            if max_age is not None and int(self.clock()) - int(token.claims["auth_time"]) > (
                max_age + LEEWAY
            ):
                raise UpstreamError(f"the provider's sign-in is older than max_age={max_age}")
        except (ValueError, JoseError) as exc:
            raise UpstreamError(f"the ID token is not valid: {exc}") from exc
        claims = dict(token.claims)
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
        try:
            answer = await client.get(endpoint)
            claims = answer.json() if answer.status_code == 200 else None
        except ANSWER_ERRORS as exc:
            raise UpstreamError(f"the UserInfo request failed: {exc!r}") from exc
        if not isinstance(claims, dict) or claims.get("sub") != subject:
            raise UpstreamError("the UserInfo answer is not for the signed-in subject")
        return claims


def _bounded(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims small enough to keep in a run (a huge one is left out, not truncated)."""
    kept: dict[str, Any] = {}
    size = 0
    for name, value in claims.items():
        encoded = len(json.dumps(value, default=str))
        if size + encoded <= MAX_CLAIMS_BYTES:
            kept[name], size = value, size + encoded
    return kept
