"""The admin console in headless Chromium: an operator signs in with a second factor, finds
alice, resets her second factor, ends her sessions and reads it all in the audit view; creates
and changes a user and a client; a non-admin is refused; every console form refuses a post
without its CSRF token.

The server runs as `localhost`, with the shipped flows.yaml. Screenshots go to test-artifacts/,
and with GATEHOUSE_DOCS_SCREENSHOTS=1 the operator's journey also refreshes docs/images/admin/.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.e2e.server import ALICE, RunningServer, gatehouse, start_server

ROOT = Path(__file__).resolve().parents[2]
DOCS_SHOTS = ROOT / "docs" / "images" / "admin"
PASSWORD = "an-operator-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("gatehouse-console"), host="localhost")
    yield running
    running.stop()


def add_user(server: RunningServer, username: str, *groups: str) -> None:
    args = [arg for group in groups for arg in ("--group", group)]
    args += ["--email", f"{username}@example.com"]
    added = gatehouse(server.config, "users", "add", username, *args, "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr


class Person:
    """One person's browser context and page, with their screenshots."""

    def __init__(self, context: BrowserContext, page: Page, shots: Path, name: str) -> None:
        self.context, self.page, self.shots, self.name = context, page, shots, name
        self.count = 0

    async def shot(self, what: str, docs: bool = False) -> None:
        self.count += 1
        path = self.shots / f"console-{self.name}-{self.count:02d}-{what}.png"
        await self.page.screenshot(path=path, full_page=True)
        if docs and os.environ.get("GATEHOUSE_DOCS_SCREENSHOTS") == "1":
            DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
            await self.page.screenshot(path=DOCS_SHOTS / f"{what}.png", full_page=True)

    async def sign_in(self, username: str, password: str) -> None:
        page = self.page
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.get_by_label("Username or email", exact=True).fill(username)
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Password", exact=True).fill(password)
        await page.get_by_role("button", name="Sign in").click()

    async def set_up_totp(self) -> pyotp.TOTP:
        """The authenticator app page: scan (read the key), type a code, save recovery codes."""
        page = self.page
        await expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
        totp = pyotp.TOTP((await page.locator(".secret-key").inner_text()).replace(" ", ""))
        await page.get_by_label("Authentication code").fill(totp.now())
        await page.get_by_role("button", name="Turn on").click()
        await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
        await page.get_by_label("I have saved these codes").check()
        await page.get_by_role("button", name="Continue").click()
        return totp


class People:
    """The browsers of a test's people, each its own context (its own cookies)."""

    def __init__(self, chromium: Browser, shots: Path) -> None:
        self.chromium, self.shots = chromium, shots
        self.made: list[Person] = []

    async def new(self, name: str) -> Person:
        context = await self.chromium.new_context(
            locale="en-US", viewport={"width": 1200, "height": 800}
        )
        self.made.append(Person(context, await context.new_page(), self.shots, name))
        return self.made[-1]


@pytest.fixture
async def people(chromium: Browser, artifacts: Path) -> AsyncIterator[People]:
    found = People(chromium, artifacts)
    yield found
    for each in found.made:
        await each.context.close()


async def alice_with_totp(people: People, issuer: str) -> Person:
    """alice, signed in on her own browser, with an authenticator app set up on /account."""
    alice = await people.new("alice")
    await alice.page.goto(f"{issuer}/account")
    await alice.sign_in(*ALICE)
    await alice.page.get_by_role("button", name="Set up an authenticator app").click()
    await alice.set_up_totp()
    await expect(alice.page.get_by_role("status")).to_have_text("Your authenticator app is set up.")
    return alice


async def operator_signed_in(people: People, issuer: str, username: str) -> Person:
    """`username` at /admin the first time (password, then an authenticator app set up, as
    loa:2 asks), then again in a fresh browser with the password and a code."""
    operator = await people.new(username)
    page = operator.page
    await page.goto(f"{issuer}/admin")
    await expect(page.get_by_text("to continue to Gatehouse administration")).to_be_visible()
    await operator.shot("sign-in", docs=True)
    await operator.sign_in(username, PASSWORD)
    await expect(page.get_by_role("heading", name="Set up a second way to sign in")).to_be_visible()
    await page.get_by_role("button", name="Use an authenticator app").click()
    totp = await operator.set_up_totp()
    await page.wait_for_url(re.compile(r"/admin/"))

    await operator.context.clear_cookies()
    await page.goto(f"{issuer}/admin")
    await operator.sign_in(username, PASSWORD)
    await expect(page.get_by_role("heading", name="Enter the code from your authenticator app")).to_be_visible()
    await operator.shot("second-factor", docs=True)
    await page.get_by_label("Authentication code").fill(totp.at(time.time() + 30))
    await page.get_by_role("button", name="Verify").click()
    await page.get_by_role("button", name="Not now").click()
    return operator


async def test_operator_resets_alices_second_factor_and_ends_her_sessions(
    server: RunningServer, people: People
) -> None:
    alice = await alice_with_totp(people, server.issuer)
    add_user(server, "olivia", "admins")
    operator = await operator_signed_in(people, server.issuer, "olivia")
    page = operator.page
    await expect(page.get_by_role("heading", name="Users")).to_be_visible()
    await expect(page.get_by_text("Signed in as olivia")).to_be_visible()

    await page.get_by_label("Find a user by username, email or name").fill("alice")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("row")).to_have_count(2)  # the header and alice
    await operator.shot("users", docs=True)
    await page.get_by_role("link", name="alice", exact=True).click()
    await expect(page.get_by_role("heading", name="alice")).to_be_visible()
    await expect(page.locator('[data-credential="totp"]')).to_have_count(1)
    await expect(page.locator("[data-session]")).to_have_count(1)
    await operator.shot("user", docs=True)

    await page.get_by_role("button", name="Reset second factors").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Every second factor was removed. The user sets one up at their next sign-in.")
    await expect(page.locator("[data-credential]")).to_have_count(0)
    await page.get_by_role("button", name="End every session").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The sessions were ended, and the applications told.")
    await expect(page.locator("[data-session]")).to_have_count(0)
    await page.get_by_role("button", name="Send a password-reset link").click()
    await expect(page.get_by_role("status")).to_have_text(
        "A link to choose a new password was emailed to the user. It works once, for a day.")
    await expect(page.locator('[data-credential="reset_link"]')).to_have_count(1)
    await operator.shot("user-after", docs=True)

    # alice's browser is signed out: her account page asks her to sign in.
    await alice.page.goto(f"{server.issuer}/account")
    await expect(alice.page.get_by_role("heading", name="Sign in")).to_be_visible()

    await page.get_by_role("link", name="Audit events").click()
    rows = page.locator("tbody tr")
    await expect(rows.filter(has_text="mfa_changed").filter(has_text="by=user:")).to_have_count(1)
    await expect(rows.filter(has_text="session_ended").filter(has_text="by=user:")).to_have_count(1)
    await expect(rows.filter(has_text="password_reset_sent").filter(has_text="by=user:")).to_have_count(1)
    await expect(page.locator('tr[data-kind="sign_in"]').first).to_contain_text("alice")
    await operator.shot("audit", docs=True)
    await page.get_by_label("Kind").fill("mfa_changed")
    await page.get_by_label("From").fill(time.strftime("%Y-%m-%d", time.gmtime()))
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator('tr[data-kind="mfa_changed"]').first).to_be_visible()
    await expect(page.locator("tbody tr:not([data-kind=mfa_changed])")).to_have_count(0)
    export = await page.get_by_role("link", name="Export as CSV").get_attribute("href")
    exported = await (await page.request.get(f"{server.issuer}{export}")).text()
    header, *lines = exported.splitlines()
    assert header == "id,at,kind,subject,client_id,address,request_id,details"
    assert lines and all(",mfa_changed," in line for line in lines), exported
    await page.get_by_label("To").fill(time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400)))
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_text("No event matches.")).to_be_visible()

    await page.get_by_role("link", name="Flows").click()
    await page.get_by_role("link", name="step-up", exact=True).click()
    diagram = page.get_by_role("img", name=re.compile("The steps of step-up"))
    await expect(diagram).to_be_visible()
    assert await diagram.evaluate("img => img.naturalWidth") > 0  # Graphviz drew it
    await page.locator("tbody tr a").first.click()
    await expect(page.get_by_role("heading", name="A run of step-up")).to_be_visible()
    await expect(page.locator(".run-log li").first).to_be_visible()
    await operator.shot("flow-run", docs=True)


async def test_a_user_outside_the_admin_group_is_refused(
    server: RunningServer, people: People
) -> None:
    add_user(server, "nora")
    nora = await operator_signed_in(people, server.issuer, "nora")
    await expect(nora.page.get_by_role("heading", name="This page is for administrators")).to_be_visible()
    for path in ("/admin/users", "/admin/clients", "/admin/keys", "/admin/audit"):
        answer = await nora.page.request.get(f"{server.issuer}{path}")
        assert answer.status == 403, path


async def test_every_console_form_refuses_a_post_without_its_token(
    server: RunningServer, people: People
) -> None:
    add_user(server, "oscar", "admins")
    add_user(server, "target")
    operator = await operator_signed_in(people, server.issuer, "oscar")
    page = operator.page
    target = await page.request.get(f"{server.issuer}/admin/users?q=target")
    match = re.search(r'href="/admin/users/([^"]+)"', await target.text())
    assert match, "target is listed"
    actions: set[str] = set()
    for path in (f"/admin/users/{match.group(1)}", f"/admin/users/{match.group(1)}/edit",
                 "/admin/users/new", "/admin/clients", "/admin/clients/new", "/admin/keys"):
        await page.goto(f"{server.issuer}{path}")
        actions |= set(await page.locator("form[method=post]").evaluate_all(
            "forms => forms.map(f => f.getAttribute('action'))"))
    assert len(actions) >= 5, actions
    token = await page.locator("input[name=csrf_token]").first.input_value()
    for action in sorted(actions):
        for form in ({}, {"csrf_token": "x" + token[1:]}):
            answer = await page.request.post(f"{server.issuer}{action}", form=form,
                                             max_redirects=0)
            assert answer.status == 400, (action, form, answer.status)
            assert "This form has expired" in await answer.text()
    keys = await page.request.get(f"{server.issuer}/admin/keys")
    assert "next" not in await keys.text()  # no rotation went through


async def test_a_change_after_the_reauth_window_asks_for_both_factors_again(
    tmp_path: Path, people: People
) -> None:
    quick = start_server(tmp_path, host="localhost", account_reauth_seconds=30)  # the least allowed
    try:
        add_user(quick, "petra", "admins")
        add_user(quick, "subject")
        operator = await operator_signed_in(people, quick.issuer, "petra")
        page = operator.page
        await page.goto(f"{quick.issuer}/admin/users?q=subject")
        await page.get_by_role("link", name="subject", exact=True).click()
        await asyncio.sleep(31)  # the sign-in is no longer recent
        await page.get_by_role("button", name="Disable").click()
        # Not disabled: petra signs in again (prompt=login, with her login as the hint).
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await expect(page.get_by_text("to continue to Gatehouse administration")).to_be_visible()
        await expect(page.get_by_label("Username or email", exact=True)).to_have_value("petra")
        answer = await page.request.get(f"{quick.issuer}/admin/users?q=subject")
        assert "Disabled" not in await answer.text()
        await operator.shot("reauth")
    finally:
        quick.stop()


async def client_credentials(issuer: str, client_id: str, secret: str) -> int:
    """The status of a client_credentials token request with this secret."""
    async with httpx2.AsyncClient(base_url=issuer) as http:
        answer = await http.post("/token", data={"grant_type": "client_credentials"},
                                 auth=(client_id, secret))
    return answer.status_code


async def test_operator_creates_and_changes_a_user_and_a_client(
    server: RunningServer, people: People
) -> None:
    add_user(server, "quinn", "admins")
    operator = await operator_signed_in(people, server.issuer, "quinn")
    page = operator.page

    await page.goto(f"{server.issuer}/admin/users")
    await page.get_by_role("link", name="New user").click()
    await page.get_by_label("Username", exact=True).fill("pia")
    await page.get_by_label("Email (optional)", exact=True).fill("pia@example.com")
    await page.get_by_label("Groups (optional)", exact=True).fill("staff, editors")
    await operator.shot("new-user", docs=True)
    await page.get_by_role("button", name="Create the user").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The user was created, and emailed a link to choose their password.")
    await expect(page.locator('[data-credential="reset_link"]')).to_have_count(1)
    await expect(page.get_by_text("staff, editors")).to_be_visible()

    await page.get_by_role("link", name="Change", exact=True).click()
    for typed, refusal in (
        ("[1]", 'Write the claims as a JSON object, like {"locale": "fr"}.'),
        ('{"level": NaN}', 'Write the claims as a JSON object, like {"locale": "fr"}.'),
        ('{"name": "P"}', "Set the name in its own field, not among the other claims."),
    ):
        await page.get_by_label("Other claims (optional)").fill(typed)
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_have_text(refusal)
    await page.get_by_label("Other claims (optional)").fill('{"locale": "fr"}')
    await page.get_by_label("Name (optional)", exact=True).fill("Pia Lind")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
    await expect(page.get_by_text("Pia Lind")).to_be_visible()

    await page.get_by_role("link", name="Clients", exact=True).click()
    await page.get_by_role("link", name="New client").click()
    await page.get_by_label("Client ID", exact=True).fill("team/reports-job")
    await page.get_by_role("button", name="Create the client").click()  # code flow, no URI
    await expect(page.get_by_role("alert")).to_have_text(
        "authorization_code needs at least one redirect_uri")
    await page.get_by_label("authorization_code", exact=True).uncheck()
    await page.get_by_label("client_credentials", exact=True).check()
    await operator.shot("new-client", docs=True)
    await page.get_by_role("button", name="Create the client").click()
    await expect(page.get_by_role("heading", name="The secret of team/reports-job")).to_be_visible()
    first = await page.locator("[data-secret]").inner_text()
    assert await client_credentials(server.issuer, "team/reports-job", first) == 200

    await page.get_by_role("link", name="Done").click()
    await page.get_by_label("Name (optional)", exact=True).fill("Nightly reports")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("The changes were saved.")
    await expect(page.get_by_role("heading", name="Nightly reports")).to_be_visible()
    await page.get_by_role("button", name="Give it a new secret").click()
    second = await page.locator("[data-secret]").inner_text()
    assert await client_credentials(server.issuer, "team/reports-job", first) == 401
    assert await client_credentials(server.issuer, "team/reports-job", second) == 200

    await page.get_by_role("link", name="Done").click()
    await page.get_by_role("button", name="Delete this client").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The client was deleted, and its grants revoked.")
    await expect(page.locator('[data-client="team/reports-job"]')).to_have_count(0)
    assert await client_credentials(server.issuer, "team/reports-job", second) == 401

    await page.get_by_role("link", name="demo-rp", exact=True).click()  # from gatehouse.yaml
    await expect(page.get_by_text("This client comes from gatehouse.yaml: change it there.")).to_be_visible()
    await expect(page.get_by_role("button", name="Delete this client")).to_have_count(0)
    await expect(page.get_by_role("button", name="Save")).to_have_count(0)
