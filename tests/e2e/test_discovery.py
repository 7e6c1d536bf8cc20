"""Discovery is valid metadata, and everything it advertises answers."""

from __future__ import annotations

import httpx2
import pytest
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


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/jwks"])
async def test_documents_carry_an_etag_and_answer_304_to_a_client_that_holds_them(
    server: RunningServer, path: str
) -> None:
    async with httpx2.AsyncClient() as http:
        first = await http.get(server.issuer + path)
        etag = first.headers["etag"]
        assert first.status_code == 200 and etag.startswith('"') and etag.endswith('"')
        assert first.headers["cache-control"] == "public, max-age=300"
        assert (await http.get(server.issuer + path)).headers["etag"] == etag
        for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            again = await http.get(server.issuer + path, headers={"If-None-Match": held})
            assert again.status_code == 304 and again.content == b"", held
            assert again.headers["etag"] == etag  # RFC 9110 §15.4.5
            assert again.headers["cache-control"] == "public, max-age=300"
            assert again.headers["x-content-type-options"] == "nosniff"
        changed = await http.get(server.issuer + path, headers={"If-None-Match": '"other"'})
        assert changed.status_code == 200 and changed.content == first.content
        head = await http.head(server.issuer + path)
        assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""
