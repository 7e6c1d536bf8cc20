"""Federated sign-in end to end: Gatehouse signs people in through another Gatehouse process
(at 127.0.0.2, so each keeps its own cookies) as an upstream OpenID provider.

The downstream flow offers "Sign in with Upstream" first; a new upstream account creates an
account here or, after the existing account signs in, is linked to it; sign-ins that did not
prove two factors upstream, and local sign-ins, go through a terms page (the `upstream`
condition)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from bs4 import BeautifulSoup

from store.records import CredentialRecord
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import (
    ALICE,
    BOB,
    RunningServer,
    client_settings,
    gatehouse,
    server_store,
    start_server,
)
from tests.e2e.test_sign_in import authorization_url, rp_client
from tests.e2e.tokens import code_flow
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
        options: {providers: [upstream], create_users: false, link_accounts: false,
                  offer_when_signed_in: true}
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
                 downstream_client(port, "consenting", require_consent=True),
                 downstream_client(port, "syncing")],
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
            {**provider, "id": "upstream", "client_id": "upstream", "name": "Upstream"},
            {**provider, "id": "consenting", "client_id": "consenting", "name": "Consenting Upstream",
             "label": "Ask Upstream"},
            {**provider, "id": "unreachable", "issuer": f"http://127.0.0.1:{free_port()}",
             "client_id": "x", "name": "Nowhere"},
            {**provider, "id": "syncing", "client_id": "syncing", "name": "Syncing Upstream",
             "sync_claims": True},
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
    assert upstream_page.url.host == "127.0.0.2" and upstream_page.status_code == 200
    page = await browser.submit(upstream_page, login=who[0])
    return await browser.submit(page, password=who[1])


async def test_a_new_upstream_account_creates_an_account_and_signs_in_again_to_it(
    servers: tuple[RunningServer, RunningServer], tmp_path: Path
) -> None:
    up, down = servers

    async def new_account(page: httpx2.Response) -> httpx2.Response:
        page = await sign_in_upstream(browser, page, CAROL)
        assert "Signed in with Upstream as carol@example.org" in page_text(page)
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
    async with server_store(down) as store:
        user = await store.users.find_by_login("carol")
        assert user is not None and user.id == first["sub"] and user.password_hash is None
        linked = await store.identities.for_user(user.id)
        assert [(i.provider, i.label) for i in linked] == [("upstream", "carol@example.org")]


async def no_page(page: httpx2.Response) -> httpx2.Response:
    return page


def add_upstream_user(up: RunningServer, username: str, email: str) -> None:
    added = gatehouse(up.config, "users", "add", username, "--email", email, "--name",
                      username.title(), "--password-stdin", stdin=f"{username}-password-1\n")
    assert added.returncode == 0, added.stderr


def message(page: httpx2.Response) -> str:
    alert = BeautifulSoup(page.text, "html.parser").find(attrs={"role": "alert"})
    return " ".join(alert.get_text().split()) if alert else ""


async def test_an_existing_account_links_only_after_it_signs_in(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    up, down = servers
    async def link(page: httpx2.Response) -> httpx2.Response:
        # alice upstream asserts alice@example.com, the address of alice down here
        page = await sign_in_upstream(browser, page, ALICE)
        # The asserted address is alice's here: no account is created, nothing links by itself.
        refused = await browser.click(page, ("choice", "create"), username="alice2")
        assert "An account with this email address exists here" in message(refused)
        page = await browser.click(refused, ("choice", "link"))
        page = await browser.submit(page, login=ALICE[0])
        page = await browser.submit(page, password=ALICE[1])
        assert "terms" in page_text(page).lower()
        return await browser.click(page, ("decision", "accept"), accept="yes")

    linked = await code_flow(down, browser, link)
    assert linked["userinfo"]["preferred_username"] == "alice"
    single_sign_on = await code_flow(down, browser, no_page)  # the session answers at once
    assert single_sign_on["sub"] == linked["sub"]
    assert sorted(linked["amr"]) == ["fed", "pwd"]  # two knowledge proofs: still one factor
    assert linked["acr"] == "urn:gatehouse:loa:1"

    again = FormBrowser(down.issuer, also=(up.issuer,))
    try:
        async def straight_back(page: httpx2.Response) -> httpx2.Response:
            return await sign_in_upstream(again, page, ALICE)

        second = await code_flow(down, again, straight_back)
    finally:
        await again.close()
    assert second["sub"] == linked["sub"] and second["amr"] == ["fed"]


async def test_upstream_failures_show_the_choices_again_and_the_run_goes_on(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    up, down = servers

    async def fail_then_sign_in_locally(page: httpx2.Response) -> httpx2.Response:
        buttons = [" ".join(b.get_text().split()) for b in
                   BeautifulSoup(page.text, "html.parser").find_all("button", attrs={"name": "provider"})]
        assert buttons == ["Sign in with Upstream", "Ask Upstream", "Sign in with Nowhere",
                           "Sign in with Syncing Upstream"]
        page = await browser.click(page, ("provider", "unreachable"))
        assert "Nowhere cannot be reached right now" in message(page)
        # Declining the upstream consent comes back as error=access_denied.
        upstream_page = await browser.click(page, ("provider", "consenting"))
        upstream_page = await browser.submit(upstream_page, login=BOB[0])
        consent = await browser.submit(upstream_page, password=BOB[1])
        page = await browser.click(consent, ("decision", "deny"))
        assert "Signing in with Consenting Upstream was cancelled" in message(page)
        page = await browser.click(page, ("_outcome", "local"))
        page = await browser.submit(page, login=BOB[0])
        page = await browser.submit(page, password=BOB[1])
        assert "terms" in page_text(page).lower()  # not an upstream sign-in
        return await browser.click(page, ("decision", "accept"), accept="yes")

    claims = await code_flow(down, browser, fail_then_sign_in_locally)
    assert claims["userinfo"]["preferred_username"] == "bob" and claims["amr"] == ["pwd"]


async def test_a_forged_or_replayed_callback_signs_nobody_in(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    up, down = servers
    async with rp_client(down) as oauth:
        url, _ = authorization_url(oauth, down, state="st", nonce="nn")
    page = await browser.open(url)
    run_path = str(page.url)
    away = await browser.http.post(run_path, data={**hidden_fields(page), "provider": "upstream"})
    state = parse_qs(urlsplit(away.headers["location"]).query)["state"][0]
    run_id, _, secret = state.partition(".")
    callback = f"{down.issuer}/federation/upstream/callback"

    forged = await browser.open(f"{callback}?state={run_id}.{'x' * len(secret)}&code=stolen")
    assert "Signing in with Upstream did not work" in message(forged)
    # The attempt is spent: the genuine response, arriving after the forgery, is refused too.
    upstream_page = await browser.open(away.headers["location"])
    page = await browser.submit(upstream_page, login=CAROL[0])
    page = await browser.submit(page, password=CAROL[1])
    assert "did not work" in message(page)
    # Another browser cannot deliver a response to this browser's run.
    stranger = FormBrowser(down.issuer)
    try:
        other = await stranger.open(f"{callback}?state={state}&code=stolen")
        assert other.status_code == 410 and "did not work" not in message(other)  # not its run
    finally:
        await stranger.close()


def hidden_fields(page: httpx2.Response) -> dict[str, str]:
    form = BeautifulSoup(page.text, "html.parser").find("form")
    assert form is not None
    return {f["name"]: f.get("value", "") for f in form.find_all("input", type="hidden")}


async def test_the_account_page_links_lists_and_unlinks_upstream_accounts(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    up, down = servers
    add_upstream_user(up, "bob-up", "bob-up@example.org")
    page = await browser.open(f"{down.issuer}/account")
    page = await browser.click(page, ("_outcome", "local"))
    page = await browser.submit(page, login=BOB[0])
    page = await browser.submit(page, password=BOB[1])
    assert "No linked accounts." in page_text(page)

    page = await browser.click(page, None, action="/account/actions/link-account")
    page = await sign_in_upstream(browser, page, ("bob-up", "bob-up-password-1"))
    assert "Signed in with Upstream as bob-up@example.org" in page_text(page)
    page = await browser.click(page, ("choice", "link_here"))
    assert "The account was linked." in page_text(page)
    assert "Upstream bob-up@example.org" in page_text(page)

    page = await browser.click(page, None, action="/unlink")
    assert "The account was unlinked." in page_text(page)
    assert "No linked accounts." in page_text(page)
    async with server_store(down) as store:
        bob = await store.users.find_by_login(BOB[0])
        assert bob is not None and await store.identities.for_user(bob.id) == []


async def test_the_only_way_in_cannot_be_unlinked(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    up, down = servers
    add_upstream_user(up, "erin", "erin@example.org")
    page = await browser.open(f"{down.issuer}/account")
    page = await sign_in_upstream(browser, page, ("erin", "erin-password-1"))
    page = await browser.click(page, ("choice", "create"), username="erin")
    page = await browser.click(page, ("decision", "accept"), accept="yes")
    assert "Upstream erin@example.org" in page_text(page)
    page = await browser.click(page, None, action="/unlink")
    assert "That is the only way you can sign in" in page_text(page)
    assert "Upstream erin@example.org" in page_text(page)


async def test_linking_an_account_with_a_second_factor_needs_that_factor(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    """The link will sign the account in without its second factor, so a password alone (the
    test flow's sign-in asks for nothing else) does not link it."""
    up, down = servers
    add_upstream_user(up, "dana-up", "dana-up@example.org")
    added = gatehouse(down.config, "users", "add", "dana", "--password-stdin",
                      stdin="dana-password-1\n")
    assert added.returncode == 0, added.stderr
    async with server_store(down) as store:
        dana = await store.users.find_by_login("dana")
        assert dana is not None
        await store.credentials.add(CredentialRecord(
            id="dana-totp", user_id=dana.id, kind="totp", created_at=time.time()))
        async with rp_client(down) as oauth:
            url, _ = authorization_url(oauth, down, state="st", nonce="nn")
        page = await sign_in_upstream(browser, await browser.open(url),
                                      ("dana-up", "dana-up-password-1"))
        page = await browser.click(page, ("choice", "link"))
        page = await browser.submit(page, login="dana")
        page = await browser.submit(page, password="dana-password-1")
        assert "To link your Upstream account, sign in with your second factor too." in message(page), page.text
        assert await store.identities.for_user(dana.id) == []


async def test_prompt_login_asks_the_upstream_provider_for_a_fresh_sign_in_too(
    servers: tuple[RunningServer, RunningServer], browser: FormBrowser
) -> None:
    up, down = servers
    add_upstream_user(up, "fiona", "fiona@example.org")

    async def new_account(page: httpx2.Response) -> httpx2.Response:
        page = await sign_in_upstream(browser, page, ("fiona", "fiona-password-1"))
        page = await browser.click(page, ("choice", "create"), username="fiona")
        return await browser.click(page, ("decision", "accept"), accept="yes")

    async def fresh(page: httpx2.Response) -> httpx2.Response:
        upstream_page = await browser.click(page, ("provider", "upstream"))
        # Signed in up there already, and still asked: prompt=login went along.
        assert upstream_page.url.host == "127.0.0.2" and "Username or email" in page_text(upstream_page)
        page = await browser.submit(upstream_page, login="fiona")
        return await browser.submit(page, password="fiona-password-1")

    first = await code_flow(down, browser, new_account)
    again = await code_flow(down, browser, fresh, prompt="login", max_age="60")
    assert again["sub"] == first["sub"] and again["auth_time"] >= first["auth_time"]


async def test_sync_claims_updates_the_user_at_each_sign_in(
    servers: tuple[RunningServer, RunningServer]
) -> None:
    up, down = servers
    add_upstream_user(up, "hana", "hana@example.org")

    async def sign_in(page: httpx2.Response, browser: FormBrowser) -> httpx2.Response:
        page = await sign_in_upstream(browser, page, ("hana", "hana-password-1"), "syncing")
        if "This account is new here" in page_text(page):
            page = await browser.click(page, ("choice", "create"), username="hana")
            page = await browser.click(page, ("decision", "accept"), accept="yes")
        return page

    async def in_new_browser() -> dict[str, Any]:
        browser = FormBrowser(down.issuer, also=(up.issuer,))
        try:
            return await code_flow(down, browser, lambda page: sign_in(page, browser))
        finally:
            await browser.close()

    first = await in_new_browser()
    assert first["userinfo"]["name"] == "Hana"
    async with server_store(up) as upstream_store:
        hana = await upstream_store.users.find_by_login("hana")
        assert hana is not None
        hana.claims["name"] = "Hana Renamed"
        await upstream_store.users.update(hana)
    again = await in_new_browser()
    assert again["sub"] == first["sub"] and again["userinfo"]["name"] == "Hana Renamed"
