"""One upstream provider, seen from Gatehouse as its OAuth 2.0 client: the authorization code
grant with PKCE and a state bound to the run, the code exchanged for a Bearer access token. What
proves who signed in depends on the protocol: an OpenID provider's ID token
(federation/oidc_upstream.py), or a plain OAuth 2.0 provider's user API
(federation/oauth2_upstream.py). Every request goes through the guarded outbound transport.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc.errors import JoseError

from core import OutboundHttp, OutboundRefused
from federation.config import UpstreamProviderSettings

MAX_CLAIMS_BYTES = 8192
MAX_CLAIM_DEPTH = 8  # claims are flat values, lists and small objects; deeper is left out
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
    """Who the provider says signed in: its subject, and the claims it asserted."""

    provider: str
    subject: str
    claims: dict[str, Any]

    @property
    def amr(self) -> list[str]:
        amr = self.claims.get("amr")
        return [v for v in amr if isinstance(v, str)] if isinstance(amr, list) else []


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str


class Upstream(ABC):
    """An upstream provider of either protocol; subclasses say where its endpoints are and what
    proves the identity once the code has been exchanged."""

    # Whether the provider can say when its user signed in (for prompt=login and max_age).
    proves_freshness = False

    def __init__(
        self, settings: UpstreamProviderSettings, redirect_uri: str, outbound: OutboundHttp,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings, self.redirect_uri = settings, redirect_uri
        self.outbound, self.clock = outbound, clock

    @property
    def id(self) -> str:
        return self.settings.id

    @abstractmethod
    async def endpoints(self) -> Endpoints:
        """The authorization and token endpoints (read from metadata, or configured)."""

    def authorization_params(
        self, attempt: Attempt, login_hint: str | None, login: bool
    ) -> dict[str, str]:
        """Parameters of the authorization request beyond OAuth 2.0's and PKCE's."""
        return {}

    async def check_response(self, params: Mapping[str, str]) -> None:  # noqa: B027 (a hook)
        """Checks of the authorization response before its code is used (none by default)."""

    @abstractmethod
    async def identity(
        self, client: AsyncOAuth2Client, token: Mapping[str, Any], attempt: Attempt
    ) -> UpstreamIdentity:
        """Who signed in, from the token response (`client` carries its access token)."""

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

    async def authorization_url(
        self, attempt: Attempt, login_hint: str | None = None, login: bool = False
    ) -> str:
        """Where to send the browser: the provider's authorization endpoint, with PKCE (S256).
        `login_hint` and `login` (our client asked for prompt=login) go along when the protocol
        has a way to say them."""
        endpoint = (await self.endpoints()).authorization
        try:
            async with self._client() as client:
                url, _ = client.create_authorization_url(
                    endpoint, state=attempt.state, code_verifier=attempt.code_verifier,
                    **self.authorization_params(attempt, login_hint, login),
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
        endpoints = await self.endpoints()
        await self.check_response(params)
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
                    endpoints.token, code=code, code_verifier=attempt.code_verifier,
                    grant_type="authorization_code",
                )
            except ANSWER_ERRORS as exc:
                raise UpstreamError(f"the token request failed: {exc!r}") from exc
            # RFC 6749 §5.1: a Bearer access token (RFC 6750) is what the next requests carry.
            access_token, token_type = token.get("access_token"), token.get("token_type")
            if not (isinstance(access_token, str) and access_token and isinstance(token_type, str)
                    and token_type.lower() == "bearer"):
                raise UpstreamError("the token response has no Bearer access token")
            return await self.identity(client, token, attempt)

    async def _get_with_token(
        self, client: AsyncOAuth2Client, url: str, what: str, also_ok: tuple[int, ...] = ()
    ) -> Any:
        """The JSON a 200 answer to a GET with the access token carries (None for a status in
        `also_ok`); UpstreamError else."""
        try:
            answer = await client.get(url, headers={"Accept": "application/json"})
            if answer.status_code in also_ok:
                return None
            if answer.status_code != 200:
                raise UpstreamError(f"the {what} request answered {answer.status_code}")
            return answer.json()
        except ANSWER_ERRORS as exc:
            raise UpstreamError(f"the {what} request failed: {exc!r}") from exc


def bounded(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims small and shallow enough to keep in a run (one too large or nested too deep
    is left out, not truncated): a run must always save and load again."""
    kept: dict[str, Any] = {}
    size = 0
    for name, value in claims.items():
        if _depth(value) > MAX_CLAIM_DEPTH:
            continue
        encoded = len(json.dumps(value, default=str))
        if size + encoded <= MAX_CLAIMS_BYTES:
            kept[name], size = value, size + encoded
    return kept


def _depth(value: object) -> int:
    """How deep lists and objects nest in `value` (0 for a plain value), counted without
    recursion and no further than one level past MAX_CLAIM_DEPTH."""
    deepest, level = 0, [value]
    while level and deepest <= MAX_CLAIM_DEPTH:
        inner: list[object] = []
        for item in level:
            if isinstance(item, dict):
                inner.extend(item.values())
            elif isinstance(item, list):
                inner.extend(item)
        if inner or any(isinstance(item, dict | list) for item in level):
            deepest += 1
        level = inner
    return deepest
