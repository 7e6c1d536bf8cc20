"""Sign-in through a plain OAuth 2.0 provider, end to end: Gatehouse against a stand-in that speaks
GitHub's OAuth App protocol and REST API (tests/upstream/github_like.py), as docs/federation.md
configures GitHub itself. The account's numeric `id` is its subject; only an address the emails
list says is verified is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, RunningServer, client_settings, server_store, start_server
from tests.e2e.test_federation import message
from tests.e2e.tokens import code_flow
from tests.ports import free_port
from tests.upstream.github_like import (
    DEFAULT_USERS,
    GithubLike,
    authorize_at_github_like,
    start_github_like,
)

FLOWS = """
default_flow: default
flows:
  default:
    steps:
      providers:
        type: federated
        options: {link_accounts: false}
        on: {success: done, local: identify}
      identify: {type: identify, on: {success: password}}
      password: {type: password, on: {success: done}}
"""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GithubLike, RunningServer]]:
    workdir = tmp_path_factory.mktemp("oauth2")
    port = free_port()
    github = start_github_like(
        workdir, [f"http://127.0.0.1:{port}/federation/{id}/callback" for id in ("github", "org")],
        users=[*DEFAULT_USERS, {  # an account whose verified address is Alice's, here
            "login": "alice-gh", "id": 7000003, "name": "Alice on GitHub", "public_email": None,
            "emails": [{"email": "alice@example.com", "primary": True, "verified": True}],
        }],
    )
    flows = workdir / "flows.yaml"
    flows.write_text(FLOWS)
    provider = {
        "id": "github", "name": "GitHub", "protocol": "oauth2",
        "client_id": github.client_id, "client_secret": github.client_secret,
        "token_endpoint_auth_method": "client_secret_post",
        "authorization_endpoint": github.authorization_endpoint,
        "token_endpoint": github.token_endpoint,
        "userinfo_endpoint": github.user_endpoint, "emails_endpoint": github.emails_endpoint,
        "scopes": ["read:user", "user:email"],
        "claims": {"username": "login", "name": "name", "email": "email"},
    }
    server = start_server(
        workdir, flows, port=port, outbound_allow_private_addresses=True,
        clients=client_settings(f"http://127.0.0.1:{port}")[:1],
        upstream_providers=[provider, {  # members of one organization only
            **provider, "id": "org", "name": "Staff GitHub",
            "scopes": ["read:user", "user:email", "read:org"],
            "groups_endpoint": github.orgs_endpoint + "?per_page=100",
            "required_claims": {"groups": "gatehouse-org"},
        }],
    )
    yield github, server
    server.stop()
    github.stop()


@pytest.fixture
async def browser(servers: tuple[GithubLike, RunningServer]) -> AsyncIterator[FormBrowser]:
    github, server = servers
    b = FormBrowser(server.issuer, also=(github.base_url,))
    yield b
    await b.close()


def new_account_as(browser: FormBrowser, login: str, username: str, via: str = "github") -> Any:
    async def steps(page: httpx2.Response) -> httpx2.Response:
        page = await authorize_at_github_like(
            browser, await browser.click(page, ("provider", via)), login
        )
        assert "Signed in with" in page_text(page)
        return await browser.click(page, ("choice", "create"), username=username)
    return steps


async def test_a_github_account_creates_an_account_and_signs_in_again_to_it(
    servers: tuple[GithubLike, RunningServer], browser: FormBrowser
) -> None:
    github, server = servers
    before = len(github.token_requests())
    first = await code_flow(server, browser, new_account_as(browser, "octocat", "octocat"))

    async def again(page: httpx2.Response) -> httpx2.Response:
        return await authorize_at_github_like(
            browser, await browser.click(page, ("provider", "github")), "octocat"
        )

    browser.http.cookies.clear()  # a new browser session: the link alone signs in
    second = await code_flow(server, browser, again)
    assert first["sub"] == second["sub"] and first["amr"] == ["fed"]
    assert first["acr"] == "urn:gatehouse:loa:1"
    assert first["userinfo"] == {
        "sub": first["sub"], "preferred_username": "octocat", "name": "The Octocat",
        "email": "octocat@github-like.example", "email_verified": True,
    }
    async with server_store(server) as store:
        linked = await store.identities.get("github", "583231")  # the id, never the login
        assert linked is not None and linked.user_id == first["sub"]
    exchanges = github.token_requests()[before:]
    assert len(exchanges) == 2 and all(
        len(e["form"]["code_verifier"]) >= 43 and e["form"]["client_secret"] == "***"
        for e in exchanges
    )


async def test_an_address_the_provider_has_not_verified_is_not_kept(
    servers: tuple[GithubLike, RunningServer], browser: FormBrowser
) -> None:
    _, server = servers
    claims = await code_flow(server, browser, new_account_as(browser, "unverified", "una"))
    assert claims["userinfo"]["preferred_username"] == "una"
    assert "email" not in claims["userinfo"]


@pytest.mark.parametrize("fresh", [{"prompt": "login"}, {"max_age": "600"}])
async def test_a_client_that_wants_a_fresh_sign_in_is_told_github_cannot_prove_one(
    servers: tuple[GithubLike, RunningServer], browser: FormBrowser, fresh: dict[str, str]
) -> None:
    github, server = servers
    before = len(github.token_requests())

    async def refused_then_local(page: httpx2.Response) -> httpx2.Response:
        page = await browser.click(page, ("provider", "github"))
        assert page.url.host == "127.0.0.1"  # never sent to the provider
        assert "GitHub cannot confirm that you have just signed in" in message(page)
        page = await browser.click(page, ("_outcome", "local"))
        return await browser.submit(await browser.submit(page, login=ALICE[0]), password=ALICE[1])

    claims = await code_flow(server, browser, refused_then_local, **fresh)
    assert claims["amr"] == ["pwd"] and len(github.token_requests()) == before


async def test_cancelling_at_github_shows_the_choices_again(
    servers: tuple[GithubLike, RunningServer], browser: FormBrowser
) -> None:
    _, server = servers

    async def cancel_then_local(page: httpx2.Response) -> httpx2.Response:
        page = await authorize_at_github_like(
            browser, await browser.click(page, ("provider", "github")), "octocat", allow=False
        )
        assert message(page) == "Signing in with GitHub was cancelled."
        page = await browser.click(page, ("_outcome", "local"))
        return await browser.submit(await browser.submit(page, login=ALICE[0]), password=ALICE[1])

    claims = await code_flow(server, browser, cancel_then_local)
    assert claims["amr"] == ["pwd"]


async def test_an_address_that_has_an_account_here_neither_links_nor_makes_another(
    servers: tuple[GithubLike, RunningServer], browser: FormBrowser
) -> None:
    _, server = servers

    async def taken_then_local(page: httpx2.Response) -> httpx2.Response:
        page = await new_account_as(browser, "alice-gh", "alice2")(page)
        assert message(page) == (
            "An account with this email address exists here. Sign in to it to link your GitHub"
            " account."
        )
        page = await browser.click(page, ("choice", "cancel"))
        page = await browser.click(page, ("_outcome", "local"))
        return await browser.submit(await browser.submit(page, login=ALICE[0]), password=ALICE[1])

    claims = await code_flow(server, browser, taken_then_local)
    async with server_store(server) as store:
        alice = await store.users.find_by_login("alice@example.com")
        assert alice is not None and alice.username == ALICE[0] and claims["sub"] == alice.id
        assert await store.users.find_by_login("alice2") is None
        assert await store.identities.get("github", "7000003") is None


async def test_a_provider_for_one_organization_admits_its_members_only(
    servers: tuple[GithubLike, RunningServer], browser: FormBrowser
) -> None:
    _, server = servers
    # A private membership, seen with read:org.
    member = await code_flow(server, browser, new_account_as(browser, "renamed", "renamed", "org"))
    assert member["userinfo"]["preferred_username"] == "renamed"

    async def outsider(page: httpx2.Response) -> httpx2.Response:
        page = await authorize_at_github_like(
            browser, await browser.click(page, ("provider", "org")), "unverified"
        )
        assert message(page) == "Your Staff GitHub account cannot sign in here."
        page = await browser.click(page, ("_outcome", "local"))
        return await browser.submit(await browser.submit(page, login=ALICE[0]), password=ALICE[1])

    browser.http.cookies.clear()
    assert (await code_flow(server, browser, outsider))["amr"] == ["pwd"]
    async with server_store(server) as store:
        assert await store.identities.get("org", "7000001") is None
