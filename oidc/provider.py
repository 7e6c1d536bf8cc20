"""The provider's parts and settings, as the endpoints see them."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from quart import current_app

from core import AddressLimit, OutboundHttp
from engine import FlowEngine
from oidc.client_assertion import ClientAssertions
from oidc.http import DocumentCache
from oidc.keys import KeyRing
from store import Store

if TYPE_CHECKING:
    from oidc.completions import Completion


@dataclass
class Provider:
    issuer: str
    store: Store
    keys: KeyRing
    engine: FlowEngine
    code_lifetime: int = 60
    pushed_request_lifetime: int = 60
    require_pushed_authorization_requests: bool = False  # for every client (RFC 9126 §5)
    dpop_nonces: bool = False  # DPoP proofs must carry a server nonce (RFC 9449 §8)
    profile: str | None = None  # "fapi2": the FAPI 2.0 Security Profile for every client
    registration: str = "off"  # Dynamic Client Registration: off, open, or token
    open_registration_grant_types: list[str] = field(
        default_factory=lambda: ["authorization_code", "refresh_token"]
    )
    dpop_nonce_key: str = field(default="", repr=False)
    access_token_lifetime: int = 600
    id_token_lifetime: int = 3600
    session_lifetime: int = 8 * 3600
    max_sessions_per_user: int = 50  # the oldest end first, past it
    # Runs begun per client network a minute (settings.runs_per_minute_per_address).
    run_starts: AddressLimit = field(default_factory=lambda: AddressLimit(0))
    ui_locales: list[str] = field(default_factory=lambda: ["en"])
    outbound: OutboundHttp = field(default_factory=OutboundHttp)
    device_key: str = field(default="", repr=False)  # signs the remembered-device cookie
    account_reauth_seconds: int = 300
    # How finished runs are answered, by the kind their sign-in request names (oidc/completions.py).
    completions: Mapping[str, Completion] = field(default_factory=dict)
    clock: Callable[[], float] = field(default=time.time)
    documents: DocumentCache = field(default_factory=DocumentCache, repr=False)

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def client_assertions(self) -> ClientAssertions:
        return ClientAssertions(self.issuer, self.store, self.outbound, self.clock, self.profile)

    def url(self, path: str) -> str:
        """An absolute URL under the issuer (which comes from config, never from Host)."""
        return self.issuer.rstrip("/") + path


EXTENSION_KEY = "gatehouse.provider"


def current_provider() -> Provider:
    provider: Provider = current_app.extensions[EXTENSION_KEY]
    return provider
