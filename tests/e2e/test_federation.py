"""Federated sign-in end to end: Gatehouse signs people in through another Gatehouse process
(at 127.0.0.2, so each keeps its own cookies) as an upstream OpenID provider.

The downstream flow offers "Sign in with Upstream" first; a new upstream account creates an
account here or, after the existing account signs in, is linked to it; sign-ins that did not
prove two factors upstream go through a terms page (the `upstream` condition).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from store import open_store
from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import (
    RunningServer,
    client_settings,
    gatehouse,
    start_server,
)
from tests.e2e.test_sign_in import RP_CALLBACK, authorization_url, rp_client, verify_id_token
from tests.ports import free_port

DOWNSTREAM_SECRET = "downstream-client-secret-0123456789abcdef"
CAROL = ("carol", "carol-password-1")

FLOWS = """
default_flow: default
account_flows:
  link-account: link-account
flows:
  default:
    steps:
      providers:
        type: federated
        on:
          success:
            - {to: done, if: {upstream: {claim: amr, contains: mfa}}}
            - {to: done, if: {not: {upstream: true}}}
            - {to: terms}
          link: sign-in
          local: sign-in
      sign-in:
        type: flow
        options: {flow: sign-in}
        on: {done: providers, deny: deny}
      terms:
        type: terms
        options: {version: "1", url: "https://example.com/terms"}
        on:
          accepted: done
          declined: deny
  sign-in:
    steps:
      identify: {type: identify, on: {success: password}}
      password: {type: password, on: {success: done}}
  link-account:
    steps:
      providers:
        type: federated
        options: {providers: [upstream], create_users: false, link_accounts: false}
        on: {success: done}
"""


def downstream_client(port: int, client_id: str, require_consent: bool = False) -> dict[str, Any]:
    return {
        "client_id": client_id, "client_secret": DOWNSTREAM_SECRET,
        "redirect_uris": [f"http://127.0.0.1:{port}/federation/{client_id}/callback"],
        "scope": "openid profile email", "require_consent": require_consent,
    }


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, RunningServer]]:
    port = free_port()
    up = start_server(
        tmp_path_factory.mktemp("upstream"), host="127.0.0.2", demo=False,
        clients=[downstream_client(port, "upstream"),
                 downstream_client(port, "consenting", require_consent=True)],
    )
    added = gatehouse(up.config, "users", "add", CAROL[0], "--email", "carol@example.org",
                      "--name", "Carol Upstream", "--password-stdin", stdin=CAROL[1] + "\n")
    assert added.returncode == 0, added.stderr
    workdir = tmp_path_factory.mktemp("downstream")
    flows = workdir / "flows.yaml"
    flows.write_text(FLOWS)
    provider = {"issuer": up.issuer, "client_secret": DOWNSTREAM_SECRET}
    down = start_server(
        workdir, flows, port=port, outbound_allow_private_addresses=True,
        clients=client_settings(f"http://127.0.0.1:{port}")[:1],  # demo-rp
        upstream_providers=[
            {**provider, "id": "upstream", "client_id": "upstream", "label": "Sign in with Upstream"},
            {**provider, "id": "consenting", "client_id": "consenting", "label": "Ask Upstream"},
            {**provider, "id": "unreachable", "issuer": f"http://127.0.0.1:{free_port()}",
             "client_id": "x", "label": "Sign in with Nowhere"},
        ],
    )
    yield up, down
    down.stop()
    up.stop()


@pytest.fixture
async def browser(servers: tuple[RunningServer, RunningServer]) -> AsyncIterator[FormBrowser]:
    up, down = servers
    b = FormBrowser(down.issuer, also=(up.issuer,))
    yield b
    await b.close()


async def sign_in_upstream(browser: FormBrowser, page: httpx2.Response, who: tuple[str, str],
                           provider: str = "upstream") -> httpx2.Response:
    """Press "Sign in with ..." and sign in at the upstream Gatehouse's own pages."""
    upstream_page = await browser.click(page, ("provider", provider))
    assert "upstream" not in str(upstream_page.url) or upstream_page.status_code == 200
    page = await browser.submit(upstream_page, login=who[0])
    return await browser.submit(page, password=who[1])


async def code_flow(
    down: RunningServer, browser: FormBrowser, steps: Any
) -> dict[str, Any]:
    """Start at the downstream authorize endpoint, go through `steps(page)`, redeem the code,
    and return the verified ID token's claims with the UserInfo answer under `userinfo`."""
    async with rp_client(down) as oauth:
        url, verifier = authorization_url(oauth, down, state="st", nonce="nn")
        final = await steps(await browser.open(url))
        target, params = redirect_params(final)
        assert target == RP_CALLBACK, page_text(final)
        token = await oauth.fetch_token(
            f"{down.issuer}/token", code=params["code"], code_verifier=verifier
        )
        claims = await verify_id_token(down, token["id_token"], "demo-rp")
        claims["userinfo"] = (await oauth.get(f"{down.issuer}/userinfo")).json()
    return claims


async def test_a_new_upstream_account_creates_an_account_and_signs_in_again_to_it(
    servers: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    up, down = servers

    async def new_account(page: httpx2.Response) -> httpx2.Response:
        page = await sign_in_upstream(browser, page, CAROL)
        assert "Signed in with Sign in with Upstream as carol@example.org" in page_text(page)
        page = await browser.click(page, ("choice", "create"), username="carol")
        assert "terms" in page_text(page).lower()  # amr has no mfa: the terms step runs
        return await browser.click(page, ("decision", "accept"), accept="yes")

    async def again(page: httpx2.Response) -> httpx2.Response:
        page = await sign_in_upstream(browser, page, CAROL)
        return page  # linked: straight back (the terms were accepted the first time)

    browser = FormBrowser(down.issuer, also=(up.issuer,))
    first = await code_flow(down, browser, new_account)
    await browser.close()
    browser = FormBrowser(down.issuer, also=(up.issuer,))
    second = await code_flow(down, browser, again)
    await browser.close()
    assert first["sub"] == second["sub"]
    assert first["amr"] == ["fed"] and first["acr"] == "urn:gatehouse:loa:1"
    assert first["userinfo"] == {
        "sub": first["sub"], "preferred_username": "carol", "name": "Carol Upstream",
        "email": "carol@example.org", "email_verified": True,
    }
    store = await open_store(f"sqlite:///{Path(down.config).parent / 'gatehouse.db'}")
    try:
        user = await store.users.find_by_login("carol")
        assert user is not None and user.id == first["sub"] and user.password_hash is None
        linked = await store.identities.for_user(user.id)
        assert [(i.provider, i.label) for i in linked] == [("upstream", "carol@example.org")]
    finally:
        await store.close()
