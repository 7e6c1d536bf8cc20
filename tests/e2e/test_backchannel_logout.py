"""Back-Channel Logout: a logout token reaches each client that got tokens in the session."""

from __future__ import annotations

from pathlib import Path

import httpx2
import trustme
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, client_settings, start_server
from tests.receiver import receiver

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


async def test_oidcc_backchannel_rp_initiated_logout(tmp_path: Path) -> None:
    with receiver() as listening, receiver(status=500) as failing:
        clients = client_settings("http://unused")
        clients[0]["backchannel_logout_uri"] = listening.url  # demo-rp
        clients[1]["backchannel_logout_uri"] = failing.url  # other-rp: broken, must not block
        clients[1]["redirect_uris"] = ["https://other.example/cb"]
        server = start_server(tmp_path, clients=clients, demo=False, outbound_allow_private_addresses=True)
        try:
            browser = FormBrowser(server.issuer)
            demo = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
            started = demo.authorize()
            signed_in = demo.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
            other = OpenIdClient(server.issuer, "other-rp", secret=clients[1]["client_secret"],
                                 redirect_uri="https://other.example/cb")
            started = other.authorize()
            other.callback(started, (await browser.http.get(started["url"])).headers["location"])
            logout = await browser.http.get("/logout", params={
                "id_token_hint": signed_in["tokens"]["id_token"],
                "post_logout_redirect_uri": "https://rp.example/signed-out"})
            assert logout.status_code == 303
            keys = KeySet.import_key_set(httpx2.get(f"{server.issuer}/jwks").json())
            await browser.close()
        finally:
            server.stop()
        assert len(listening.posts) == 1 and len(failing.posts) == 1
    token = jwt.decode(listening.posts[0]["logout_token"][0], keys, algorithms=["RS256"])
    claims = token.claims
    assert token.header["typ"] == "logout+jwt"
    assert claims["iss"] == server.issuer and claims["aud"] == "demo-rp"
    assert claims["sid"] == signed_in["claims"]["sid"] and claims["sub"] == signed_in["claims"]["sub"]
    assert claims["events"] == {LOGOUT_EVENT: {}} and "nonce" not in claims
    assert claims["exp"] > claims["iat"] and claims["jti"]


async def test_a_logout_without_hint_notifies_only_once_confirmed(tmp_path: Path) -> None:
    """A cross-site `GET /logout` (no hint, or empty parameters) ends nothing and tells no client;
    the person's confirmation does both."""
    with receiver() as listening:
        clients = client_settings("http://unused")
        clients[0]["backchannel_logout_uri"] = listening.url  # demo-rp
        server = start_server(tmp_path, clients=clients, demo=False, outbound_allow_private_addresses=True)
        browser = FormBrowser(server.issuer)
        try:
            demo = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
            started = demo.authorize()
            demo.callback(started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
            cross_site = {"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.example/"}
            for params in ({}, {"id_token_hint": "", "state": ""}):
                asked = await browser.http.get("/logout", params=params, headers=cross_site)
                assert asked.status_code == 200 and "Sign out of Gatehouse?" in page_text(asked)
            assert listening.posts == []
            again = await browser.http.get(demo.authorize()["url"])
            assert "code=" in again.headers.get("location", "")  # still signed in
            confirmed = await browser.submit(asked)
            assert "You are signed out" in page_text(confirmed)
            assert len(listening.posts) == 1
        finally:
            await browser.close()
            server.stop()


async def test_back_channel_logout_over_https_checks_the_certificate(tmp_path: Path) -> None:
    """An application's endpoint on https with an organisation's own CA: delivered when
    `outbound_ca_file` trusts that CA, never when the certificate cannot be checked."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    for trusted in (True, False):
        with receiver(tls=ca) as listening:
            clients = client_settings("http://unused")
            clients[0]["backchannel_logout_uri"] = listening.url  # demo-rp
            (home := tmp_path / f"trusted-{trusted}").mkdir()
            server = start_server(home, clients=clients[:1], demo=False,
                                  outbound_allow_private_addresses=True,
                                  **({"outbound_ca_file": str(tmp_path / "ca.pem")} if trusted else {}))
            try:
                async with FormBrowser(server.issuer) as browser:
                    demo = OpenIdClient(server.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET)
                    started = demo.authorize()
                    signed_in = demo.callback(
                        started, (await browser.sign_in(started["url"], *ALICE)).headers["location"])
                    logout = await browser.http.get("/logout", params={
                        "id_token_hint": signed_in["tokens"]["id_token"],
                        "post_logout_redirect_uri": "https://rp.example/signed-out"})
                    assert logout.status_code == 303
            finally:
                server.stop()
            assert listening.url.startswith("https://")
            assert len(listening.posts) == (1 if trusted else 0), trusted
            if not trusted:
                assert "CERTIFICATE_VERIFY_FAILED" in server.log.read_text()
