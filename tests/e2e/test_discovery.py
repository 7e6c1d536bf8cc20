"""Discovery is valid metadata, and everything it advertises answers."""

from __future__ import annotations

import httpx2
from authlib.oidc.discovery import OpenIDProviderMetadata

from tests.e2e.server import RunningServer


async def test_oidcc_discovery_endpoint_verification(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        metadata = (await http.get(f"{server.issuer}/.well-known/openid-configuration")).json()
        OpenIDProviderMetadata(metadata).validate()
        for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                     "end_session_endpoint", "revocation_endpoint", "introspection_endpoint"):
            assert metadata[name].startswith(server.issuer + "/")
            response = await http.get(metadata[name])
            assert response.status_code != 404, name
    assert metadata["ui_locales_supported"] == ["en", "fr"]
    # oidcc-backchannel-rp-initiated-logout-discovery-endpoint-verification
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256"]
