"""Gatehouse behind Debian's nginx terminating TLS, as docs/deploy.md configures it: an https
issuer, `trusted_proxies` naming the proxy. Through the proxy, openid-client (trusting the tests'
CA) signs a person in; the cookies are `__Host-` and Secure and HSTS is sent; discovery names
only https URLs; and throttling and the audit trail see the browser's address from
X-Forwarded-For, never one the browser made up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
from playwright.async_api import Browser, Route

from tests.e2e.browser import FormBrowser, page_text, response_url
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import (
    ALICE,
    CONFIDENTIAL_SECRET,
    ROOT,
    RunningServer,
    client_settings,
    gatehouse,
    start_server,
)
from tests.e2e.test_federation import FLOWS
from tests.e2e.test_mfa_in_chromium import (
    MFA_APP,
    PASSWORDLESS_APP,
    Journey,
    VirtualAuthenticator,
    enroll_passkey,
)
from tests.e2e.tokens import code_flow
from tests.nginx_proxy import SERVER_BLOCK, Proxy, start_nginx
from tests.ports import free_port
from tests.upstream.node_provider import sign_in_upstream, start_node_provider

BROWSER_ADDRESS = "127.0.0.3"  # the browser's own loopback address: not the proxy's


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proxy, RunningServer]]:
    home = tmp_path_factory.mktemp("behind-nginx")
    port, backend = free_port(), free_port()
    running = start_nginx(home / "nginx", port, f"127.0.0.1:{backend}")
    server = start_server(home, port=backend, behind=running.issuer,
                          trusted_proxies=["127.0.0.1"])
    yield running, server
    server.stop()
    running.stop()


def browser(proxy: Proxy, **headers: str) -> FormBrowser:
    transport = httpx2.AsyncHTTPTransport(local_address=BROWSER_ADDRESS, verify=proxy.trust())
    return FormBrowser(proxy.issuer, headers=headers or None, transport=transport)


async def test_openid_client_signs_in_over_https(proxy: tuple[Proxy, RunningServer]) -> None:
    nginx, _ = proxy
    rp = OpenIdClient(nginx.issuer, "demo-rp", secret=CONFIDENTIAL_SECRET, ca_file=str(nginx.ca_file))
    started = rp.authorize(scope="openid profile email")
    assert started["url"].startswith(f"{nginx.issuer}/authorize?")
    web = browser(nginx)
    try:
        answer = await web.sign_in(started["url"], *ALICE)
    finally:
        await web.close()
    result = rp.callback(started, response_url(answer, "query"))
    assert result["claims"]["iss"] == nginx.issuer and result["userinfo"]["name"] == "Alice Example"


async def test_a_passkey_is_made_and_signs_in_over_https_in_chromium(
    proxy: tuple[Proxy, RunningServer], chromium: Browser, artifacts: Path,
) -> None:
    nginx, server = proxy
    # Chromium is not told of the tests' CA (openid-client and the HTTP clients here check the
    # certificate); WebAuthn runs on the https origin all the same.
    context = await chromium.new_context(locale="en-US", ignore_https_errors=True)
    page = await context.new_page()
    journey = Journey(context, page, artifacts, "https-passkey")
    journey.issuer, journey.verify = nginx.issuer, nginx.trust()

    async def client(route: Route) -> None:
        journey.callbacks.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<h1>Back at the client</h1>")

    try:
        for _, redirect_uri in (MFA_APP, PASSWORDLESS_APP):
            await page.route(redirect_uri + "*", client)
        await VirtualAuthenticator.attach(journey)
        await enroll_passkey(server, journey, "hana")  # password, then a new passkey
        await context.clear_cookies()
        await journey.authorize(PASSWORDLESS_APP)
        await page.get_by_role("button", name="Use a passkey").click()
        claims = await journey.tokens(PASSWORDLESS_APP)
        assert claims["amr"] == ["hwk", "user", "mfa"] and claims["iss"] == nginx.issuer
    finally:
        await context.close()


async def test_cookies_are_host_prefixed_and_secure_and_hsts_is_sent(
    proxy: tuple[Proxy, RunningServer],
) -> None:
    nginx, _ = proxy
    web = browser(nginx)
    try:
        page = await web.http.get("/authorize?client_id=demo-rp&response_type=code&scope=openid"
                                   "&redirect_uri=https://rp.example/callback&state=s")
        cookies = page.headers.get_list("set-cookie")  # the run's browser binding
        assert cookies and all(c.startswith("__Host-") for c in cookies), cookies
        assert all("; Secure" in c or "; secure" in c for c in cookies), cookies
        assert all("Path=/" in c and "Domain=" not in c for c in cookies), cookies
        assert page.headers["strict-transport-security"].startswith("max-age=")
    finally:
        await web.close()


async def test_discovery_names_only_https_urls(proxy: tuple[Proxy, RunningServer]) -> None:
    nginx, _ = proxy
    async with httpx2.AsyncClient(verify=nginx.trust()) as http:
        metadata = (await http.get(f"{nginx.issuer}/.well-known/openid-configuration")).json()
    assert metadata["issuer"] == nginx.issuer
    urls = [v for v in metadata.values() if isinstance(v, str) and "://" in v]
    assert len(urls) >= 5 and all(urlsplit(u).scheme == "https" for u in urls), urls
    assert all(u.startswith(nginx.issuer) for u in urls), urls


async def test_the_browsers_own_address_is_seen_never_a_forged_one(
    proxy: tuple[Proxy, RunningServer],
) -> None:
    nginx, server = proxy
    web = browser(nginx, **{"X-Forwarded-For": "203.0.113.66"})  # made up by the browser
    try:
        page = await web.sign_in(f"{nginx.issuer}/account", "bob", "wrong-password-0")
        assert "Incorrect username or password." in page_text(page)
    finally:
        await web.close()
    events = [json.loads(line) for line in
              gatehouse(server.config, "audit", "bob").stdout.splitlines()]
    failed = [e for e in events if e["kind"] == "sign_in_failed"]
    assert failed and failed[0]["address"] == BROWSER_ADDRESS, failed


def test_docs_deploy_gives_the_tested_nginx_configuration() -> None:
    documented = (ROOT / "docs" / "deploy.md").read_text()
    tested = SERVER_BLOCK.format(listen="127.0.0.1", port=443, home="/etc/ssl/login.example.com",
                                 backend="127.0.0.1:8000")
    tested = tested.replace("server_name localhost;", "server_name login.example.com;")
    tested = tested.replace("/etc/ssl/login.example.com/cert.pem",
                            "/etc/ssl/login.example.com/fullchain.pem")
    tested = tested.replace("/etc/ssl/login.example.com/key.pem",
                            "/etc/ssl/login.example.com/privkey.pem")
    tested = tested.replace("listen 127.0.0.1:443 ssl;", "listen 443 ssl;")
    assert tested in documented


async def test_an_upstream_provider_behind_https_signs_a_person_in(tmp_path: Path) -> None:
    """node-oidc-provider behind its own nginx, with a CA of its own that only
    `outbound_ca_file` makes Gatehouse trust: discovery, keys and the code exchange go over
    https with the certificate checked."""
    port, node_port, proxy_port = free_port(), free_port(), free_port()
    upstream_proxy = start_nginx(tmp_path / "nginx", proxy_port, f"127.0.0.1:{node_port}",
                                 listen="127.0.0.3")
    node = start_node_provider(tmp_path, [f"http://127.0.0.1:{port}/federation/upstream/callback"],
                               host="127.0.0.1", port=node_port, issuer=upstream_proxy.issuer)
    (home := tmp_path / "down").mkdir()
    (home / "flows.yaml").write_text(FLOWS)
    down = start_server(
        home, home / "flows.yaml", port=port, outbound_allow_private_addresses=True,
        outbound_ca_file=str(upstream_proxy.ca_file),
        clients=client_settings(f"http://127.0.0.1:{port}")[:1],
        upstream_providers=[{"id": "upstream", "issuer": node.issuer, "client_id": node.client_id,
                             "client_secret": node.client_secret, "name": "Node"}],
    )
    web = FormBrowser(down.issuer, also=(node.issuer,), verify=upstream_proxy.trust())
    try:
        async def steps(page: httpx2.Response) -> httpx2.Response:
            page = await sign_in_upstream(web, await web.click(page, ("provider", "upstream")),
                                          "grace-hopper")
            assert "Signed in with Node as grace-hopper@upstream.example" in page_text(page)
            page = await web.click(page, ("choice", "create"), username="grace")
            return await web.click(page, ("decision", "accept"), accept="yes")

        claims = await code_flow(down, web, steps)
        assert node.issuer.startswith("https://") and claims["amr"] == ["fed"]
        assert claims["userinfo"]["email"] == "grace-hopper@upstream.example"
    finally:
        await web.close()
        down.stop()
        node.stop()
        upstream_proxy.stop()
