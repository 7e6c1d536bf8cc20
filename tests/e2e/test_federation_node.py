"""Federated sign-in end to end with node-oidc-provider (npm) as the upstream provider: a new
account, a multi-factor upstream sign-in reaching our second level, and a refusal upstream that
leaves the run going."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, BOB, RunningServer, client_settings, server_store, start_server
from tests.e2e.test_federation import FLOWS, message
from tests.e2e.tokens import code_flow
from tests.ports import free_port
from tests.upstream.node_provider import DENY, NodeProvider, sign_in_upstream, start_node_provider

Servers = tuple[NodeProvider, RunningServer]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    port = free_port()
    callbacks = [f"http://127.0.0.1:{port}/federation/{id}/callback" for id in ("upstream", "strict")]
    node = start_node_provider(Path(tmp_path_factory.mktemp("node")), callbacks)
    workdir = tmp_path_factory.mktemp("downstream")
    flows = workdir / "flows.yaml"
    flows.write_text(FLOWS)
    try:
        down = start_server(
            workdir, flows, port=port, outbound_allow_private_addresses=True,
            clients=client_settings(f"http://127.0.0.1:{port}")[:1],
            upstream_providers=[
                {"id": "upstream", "issuer": node.issuer, "client_id": node.client_id,
                 "client_secret": node.client_secret, "name": "Node"},
                {"id": "strict", "issuer": node.issuer, "client_id": node.client_id,
                 "client_secret": node.client_secret, "name": "Strict Node",
                 "required_claims": {"amr": "mfa"}},
            ],
        )
    except BaseException:
        node.stop()
        raise
    yield node, down
    down.stop()
    node.stop()


@pytest.fixture
async def browser(servers: Servers) -> AsyncIterator[FormBrowser]:
    node, down = servers
    b = FormBrowser(down.issuer, also=(node.issuer,))
    yield b
    await b.close()


async def to_upstream(browser: FormBrowser, page: httpx2.Response, login: str) -> httpx2.Response:
    return await sign_in_upstream(browser, await browser.click(page, ("provider", "upstream")), login)


async def test_a_new_account_from_node_oidc_provider(servers: Servers, browser: FormBrowser) -> None:
    _, down = servers

    async def steps(page: httpx2.Response) -> httpx2.Response:
        page = await to_upstream(browser, page, "frank-castle")
        assert "Signed in with Node as frank-castle@upstream.example" in page_text(page)
        page = await browser.click(page, ("choice", "create"), username="frank")
        return await browser.click(page, ("decision", "accept"), accept="yes")  # no mfa: terms

    claims = await code_flow(down, browser, steps)
    assert claims["amr"] == ["fed"] and claims["acr"] == "urn:gatehouse:loa:1"
    assert claims["userinfo"] == {
        "sub": claims["sub"], "preferred_username": "frank", "name": "Frank Castle",
        "email": "frank-castle@upstream.example", "email_verified": True,
    }


async def test_an_upstream_multi_factor_sign_in_reaches_our_second_level(
    servers: Servers, browser: FormBrowser
) -> None:
    _, down = servers

    async def steps(page: httpx2.Response) -> httpx2.Response:
        page = await to_upstream(browser, page, "mfa-grace")
        return await browser.click(page, ("choice", "create"), username="grace")  # no terms

    claims = await code_flow(down, browser, steps)
    assert sorted(claims["amr"]) == ["fed", "mfa"]
    assert claims["acr"] == "urn:gatehouse:loa:2"


async def test_a_refusal_upstream_leaves_the_run_going(servers: Servers, browser: FormBrowser) -> None:
    _, down = servers

    async def steps(page: httpx2.Response) -> httpx2.Response:
        page = await to_upstream(browser, page, DENY)
        assert "Signing in with Node was cancelled" in message(page)
        page = await browser.click(page, ("_outcome", "local"))
        page = await browser.submit(page, login=ALICE[0])
        page = await browser.submit(page, password=ALICE[1])
        return await browser.click(page, ("decision", "accept"), accept="yes")

    claims = await code_flow(down, browser, steps)
    assert claims["userinfo"]["preferred_username"] == "alice" and claims["amr"] == ["pwd"]


async def test_an_unlinked_upstream_sign_in_proves_nothing_for_a_local_one(
    servers: Servers, browser: FormBrowser
) -> None:
    """An upstream account that claims two factors, left unlinked, and then a password for
    another account: the password's sign-in is not taken for the upstream one's, and links
    nothing."""
    _, down = servers

    async def steps(page: httpx2.Response) -> httpx2.Response:
        page = await to_upstream(browser, page, "mfa-mallory")
        assert "This account is new here" in page_text(page)
        page = await browser.click(page, ("_outcome", "local"))
        page = await browser.submit(page, login=BOB[0])  # bob has not accepted the terms yet
        page = await browser.submit(page, password=BOB[1])
        assert "terms" in page_text(page).lower()  # a password sign-in: no upstream mfa
        return await browser.click(page, ("decision", "accept"), accept="yes")

    claims = await code_flow(down, browser, steps)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:gatehouse:loa:1"
    async with server_store(down) as store:
        assert await store.identities.get("upstream", "mfa-mallory") is None
        assert await store.identities.for_user(claims["sub"]) == []


async def test_required_claims_refuse_an_account_before_anything_is_created(
    servers: Servers, browser: FormBrowser
) -> None:
    _, down = servers

    async def steps(page: httpx2.Response) -> httpx2.Response:
        upstream_page = await browser.click(page, ("provider", "strict"))
        page = await sign_in_upstream(browser, upstream_page, "ivan-single-factor")
        assert "Your Strict Node account cannot sign in here." in message(page)
        for cookie in [c for c in browser.http.cookies.jar if c.domain.startswith("127.0.0.3")]:
            browser.http.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)  # sign out there
        upstream_page = await browser.click(page, ("provider", "strict"))
        page = await sign_in_upstream(browser, upstream_page, "mfa-ivan")  # asserts amr mfa
        return await browser.click(page, ("choice", "create"), username="ivan")

    claims = await code_flow(down, browser, steps)
    assert claims["userinfo"]["preferred_username"] == "ivan"
    async with server_store(down) as store:
        assert await store.identities.get("strict", "ivan-single-factor") is None
        assert await store.users.find_by_login("ivan-single-factor@upstream.example") is None
