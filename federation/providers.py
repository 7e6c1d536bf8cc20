"""The configured upstream providers as the server uses them (engine/upstream_check.py checks
that a flows file offers only those)."""

from __future__ import annotations

from collections.abc import Sequence

from core import OutboundHttp
from federation.config import UpstreamProviderSettings
from federation.oauth2_upstream import OAuth2Upstream
from federation.oidc_upstream import OidcUpstream
from federation.upstream import Upstream


def upstreams_for(
    issuer: str, providers: Sequence[UpstreamProviderSettings], outbound: OutboundHttp
) -> dict[str, Upstream]:
    """The upstream providers by id, each with its own redirect URI under the issuer."""
    return {
        provider.id: (OidcUpstream if provider.protocol == "oidc" else OAuth2Upstream)(
            provider, f"{issuer}/federation/{provider.id}/callback", outbound
        )
        for provider in providers
    }
