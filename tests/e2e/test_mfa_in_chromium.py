"""Second factors in a real browser: TOTP, passkeys (through the DevTools virtual authenticator),
recovery codes, remembered browsers and step-up, on the shipped flows.yaml.

The server runs as `localhost` (a secure context and a valid WebAuthn RP id). Every page a test
passes is saved as a screenshot in test-artifacts/.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, CDPSession, Page, Route, expect

from tests.e2e.server import RunningServer, gatehouse, start_server
from tests.e2e.tokens import unverified_claims

VERIFIER = "mfa-test-verifier-" + "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
MFA_APP = ("mfa-app", "https://mfa.example/cb")  # tagged mfa-required: users must set up MFA
PASSWORDLESS_APP = ("passwordless-app", "https://chat.example/cb")
PASSWORD = "a-long-test-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("gatehouse-mfa"), host="localhost")
    yield running
    running.stop()


def add_user(server: RunningServer, username: str) -> None:
    added = gatehouse(server.config, "users", "add", username, "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr


class Journey:
    """One browser context: pages, the clients' callbacks caught, a screenshot of every page."""

    def __init__(self, context: BrowserContext, page: Page, shots: Path, name: str) -> None:
        self.context, self.page, self.shots, self.name = context, page, shots, name
        self.count = 0
        self.callbacks: list[str] = []

    async def shot(self, what: str) -> None:
        self.count += 1
        await self.page.screenshot(path=self.shots / f"{self.name}-{self.count:02d}-{what}.png",
                                   full_page=True)

    async def authorize(self, client: tuple[str, str], **extra: str) -> None:
        query = httpx2.QueryParams({
            "client_id": client[0], "redirect_uri": client[1], "response_type": "code",
            "scope": "openid", "state": "st", "code_challenge": CHALLENGE,
            "code_challenge_method": "S256", **extra,
        })
        await self.page.goto(f"{self.issuer}/authorize?{query}")

    async def sign_in(self, username: str) -> None:
        await expect(self.page.get_by_role("heading", name="Sign in")).to_be_visible()
        await self.shot("identify")
        await self.page.get_by_label("Username or email", exact=True).fill(username)
        await self.page.get_by_role("button", name="Continue").click()
        await expect(self.page.get_by_role("heading", name="Enter your password")).to_be_visible()
        await self.shot("password")
        await self.page.get_by_label("Password", exact=True).fill(PASSWORD)
        await self.page.get_by_role("button", name="Sign in").click()

    async def code(self) -> str:
        """Wait for the client's callback; its code."""
        await expect(self.page.get_by_role("heading", name="Back at the client")).to_be_visible()
        await self.shot("back-at-client")
        query = parse_qs(urlsplit(self.callbacks[-1]).query)
        assert query["state"] == ["st"], query
        return query["code"][0]

    async def tokens(self, client: tuple[str, str]) -> dict[str, Any]:
        """The ID token's claims for the code the client just got."""
        code = await self.code()
        async with httpx2.AsyncClient(verify=self.verify) as http:
            answer = await http.post(f"{self.issuer}/token", data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": client[1],
                "client_id": client[0], "code_verifier": VERIFIER,
            })
        assert answer.status_code == 200, answer.text
        return unverified_claims(answer.json()["id_token"])

    issuer = ""
    verify: Any = True  # how the client checks the issuer's certificate (https behind a proxy)


@pytest.fixture
async def journey(
    chromium: Browser, server: RunningServer, artifacts: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Journey]:
    context = await chromium.new_context(locale="en-US")
    page = await context.new_page()
    trip = Journey(context, page, artifacts, "mfa-" + request.node.name.removeprefix("test_")[:24])
    trip.issuer = server.issuer

    async def client(route: Route) -> None:
        trip.callbacks.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<h1>Back at the client</h1>")

    for _, redirect_uri in (MFA_APP, PASSWORDLESS_APP):
        await page.route(redirect_uri + "*", client)
    yield trip
    await context.close()


class VirtualAuthenticator:
    """A platform authenticator holding passkeys, that verifies the user (WebAuthn.* in CDP)."""

    def __init__(self, cdp: CDPSession, authenticator_id: str) -> None:
        self.cdp, self.id = cdp, authenticator_id

    @classmethod
    async def attach(cls, journey: Journey) -> VirtualAuthenticator:
        cdp = await journey.context.new_cdp_session(journey.page)
        await cdp.send("WebAuthn.enable")
        added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }})
        return cls(cdp, added["authenticatorId"])

    async def answer_by_itself(self, enabled: bool) -> None:
        """Whether the person "touches" the authenticator whenever a page asks (off: the
        sign-in page's passkey autofill stays unanswered, as when someone types a username)."""
        await self.cdp.send("WebAuthn.setAutomaticPresenceSimulation",
                            {"authenticatorId": self.id, "enabled": enabled})


async def save_recovery_codes(journey: Journey) -> list[str]:
    page = journey.page
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    await journey.shot("recovery-codes")
    codes = await page.locator("ol.recovery-codes code").all_inner_texts()
    await page.get_by_label("I have saved these codes").check()
    await page.get_by_role("button", name="Continue").click()
    return codes


async def test_totp_replay_recovery_code_remembered_browser_and_step_up(
    server: RunningServer, journey: Journey
) -> None:
    add_user(server, "carol")
    page = journey.page
    # Payroll requires a second factor: carol sets up an authenticator app after her password.
    await journey.authorize(MFA_APP)
    await journey.sign_in("carol")
    await expect(page.get_by_role("heading", name="Set up a second way to sign in")).to_be_visible()
    await journey.shot("choose-method")
    await page.get_by_role("button", name="Use an authenticator app").click()
    await expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    await expect(page.get_by_role("img", name="QR code to scan with your authenticator app")).to_be_visible()
    await journey.shot("totp-setup")
    totp = pyotp.TOTP((await page.locator(".secret-key").inner_text()).replace(" ", ""))
    await page.get_by_label("Authentication code").fill("000000" if totp.now() != "000000" else "111111")
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    await expect(page.get_by_label("Authentication code")).to_be_focused()  # WCAG 2.2 SC 3.3.1
    await journey.shot("totp-setup-wrong-code")
    await page.get_by_label("Authentication code").fill(totp.now())
    await page.get_by_role("button", name="Turn on").click()
    codes = await save_recovery_codes(journey)
    assert len(codes) == 10 and len(set(codes)) == 10
    claims = await journey.tokens(MFA_APP)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"

    # A later sign-in: the code from the enrolled secret, for the next time step (±1 allowed).
    await journey.context.clear_cookies()
    await journey.authorize(MFA_APP)
    await journey.sign_in("carol")
    await expect(page.get_by_role("heading", name="Enter the code from your authenticator app")).to_be_visible()
    await journey.shot("totp")
    next_code = totp.at(time.time() + 30)
    await page.get_by_label("Authentication code").fill(next_code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="Remember this browser?")).to_be_visible()
    await journey.shot("remember-browser")
    await page.get_by_role("button", name="Not now").click()
    assert (await journey.tokens(MFA_APP))["amr"] == ["pwd", "otp", "mfa"]

    # The same code again is a replay; then a recovery code through "Try another way".
    await journey.context.clear_cookies()
    await journey.authorize(MFA_APP)
    await journey.sign_in("carol")
    await page.get_by_label("Authentication code").fill(next_code)
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("alert")).to_have_text("That code was already used. Wait for the next one.")
    await journey.shot("totp-replayed")
    await page.get_by_role("button", name="Try another way").click()
    await expect(page.get_by_role("heading", name="Choose how to sign in")).to_be_visible()
    await journey.shot("try-another-way")
    await page.get_by_role("button", name="Use a recovery code").click()
    await expect(page.get_by_role("heading", name="Use a recovery code")).to_be_visible()
    await page.get_by_role("textbox", name="Recovery code").fill("not-a-code")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Recovery code")).to_be_focused()
    await page.get_by_role("textbox", name="Recovery code").fill(codes[0].lower().replace("-", " "))
    await journey.shot("recovery-code")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("button", name="Remember this browser", exact=True).click()
    assert (await journey.tokens(MFA_APP))["amr"] == ["pwd", "otp", "mfa"]

    # This browser is remembered for carol: a fresh sign-in asks for the password only...
    await journey.authorize(MFA_APP, prompt="login")
    await journey.sign_in("carol")
    claims = await journey.tokens(MFA_APP)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:gatehouse:loa:1"
    # ...until a client asks for two factors: step-up runs only the missing step.
    await journey.authorize(MFA_APP, acr_values="urn:gatehouse:loa:2")
    await expect(page.get_by_role("heading", name="Enter the code from your authenticator app")).to_be_visible()
    await journey.shot("step-up-totp")
    # (The app's next code is a minute away: the time steps up to now+30 s are used up.)
    await page.get_by_role("button", name="Try another way").click()
    await page.get_by_role("button", name="Use a recovery code").click()
    await page.get_by_role("textbox", name="Recovery code").fill(codes[1])
    await page.get_by_role("button", name="Sign in").click()
    claims = await journey.tokens(MFA_APP)
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"


async def enroll_passkey(server: RunningServer, journey: Journey, username: str) -> None:
    """Sign in to Payroll, which makes the user set up a passkey, then save recovery codes."""
    add_user(server, username)
    page = journey.page
    await journey.authorize(MFA_APP)
    await journey.sign_in(username)
    await page.get_by_role("button", name="Create a passkey").click()
    await expect(page.get_by_role("heading", name="Create a passkey")).to_be_visible()
    await page.get_by_label("Name for this passkey").fill("Test laptop")
    await journey.shot("passkey-setup")
    await page.get_by_role("button", name="Create a passkey").click()
    await save_recovery_codes(journey)
    claims = await journey.tokens(MFA_APP)
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"], claims


async def test_passkey_enrollment_then_passwordless_sign_in(
    server: RunningServer, journey: Journey
) -> None:
    await VirtualAuthenticator.attach(journey)
    await enroll_passkey(server, journey, "dave")
    page = journey.page
    # Team Chat signs in with a passkey first: no username, no password.
    await journey.context.clear_cookies()
    await journey.authorize(PASSWORDLESS_APP)
    await expect(page.get_by_role("heading", name="Use your passkey")).to_be_visible()
    await journey.shot("passwordless")
    await page.get_by_role("button", name="Use a passkey").click()
    claims = await journey.tokens(PASSWORDLESS_APP)
    assert claims["amr"] == ["hwk", "user", "mfa"] and claims["acr"] == "urn:gatehouse:loa:2"
    # The default flow's sign-in page asks for passkeys with conditional mediation (the
    # username field's autofill); the virtual authenticator answers it without a click.
    await journey.context.clear_cookies()
    await journey.authorize(MFA_APP)
    claims = await journey.tokens(MFA_APP)
    assert claims["amr"] == ["hwk", "user", "mfa"]


async def test_passkey_as_second_factor(server: RunningServer, journey: Journey) -> None:
    authenticator = await VirtualAuthenticator.attach(journey)
    await enroll_passkey(server, journey, "erin")
    page = journey.page
    await journey.context.clear_cookies()
    await authenticator.answer_by_itself(False)
    await journey.authorize(MFA_APP)
    await journey.sign_in("erin")
    await authenticator.answer_by_itself(True)
    await expect(page.get_by_role("heading", name="Use your passkey")).to_be_visible()
    await expect(page.get_by_text("Confirm it is you with your passkey")).to_be_visible()
    await journey.shot("second-factor-passkey")
    await page.get_by_role("button", name="Use a passkey").click()
    await expect(page.get_by_role("heading", name="Remember this browser?")).to_be_visible()
    await page.get_by_role("button", name="Not now").click()
    claims = await journey.tokens(MFA_APP)
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]


async def test_account_page_adds_and_removes_second_factors(
    server: RunningServer, journey: Journey
) -> None:
    await VirtualAuthenticator.attach(journey)
    add_user(server, "frank")
    page = journey.page
    await page.goto(f"{server.issuer}/account")
    await expect(page.get_by_text("to continue to Your account")).to_be_visible()
    await journey.sign_in("frank")
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.get_by_text("No passkeys yet.")).to_be_visible()
    await journey.shot("account")

    await page.get_by_role("button", name="Add a passkey").click()
    await page.get_by_label("Name for this passkey").fill("Work laptop")
    await page.get_by_role("button", name="Create a passkey").click()
    await expect(page.get_by_role("status")).to_have_text("Your passkey was added.")
    await expect(page.locator('[data-credential="passkey"]')).to_contain_text("Work laptop")

    await page.get_by_role("button", name="Set up an authenticator app").click()
    # The account's own journey: a way back to it, not "to continue to" nor "Not frank?".
    await expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    await expect(page.get_by_role("link", name="Back to your account")).to_be_visible()
    await expect(page.get_by_text("to continue to")).to_have_count(0)
    await expect(page.get_by_role("button", name="Use another account")).to_have_count(0)
    await journey.shot("account-totp-setup")
    totp = pyotp.TOTP((await page.locator(".secret-key").inner_text()).replace(" ", ""))
    await page.get_by_label("Authentication code").fill(totp.now())
    await page.get_by_role("button", name="Turn on").click()
    first_codes = await save_recovery_codes(journey)
    await expect(page.get_by_role("status")).to_have_text("Your authenticator app is set up.")
    await expect(page.locator('[data-credential="recovery-codes"]')).to_have_text("10 unused codes left.")
    await journey.shot("account-with-factors")

    await page.get_by_role("button", name="Get new recovery codes").click()
    new_codes = await save_recovery_codes(journey)
    assert not set(new_codes) & set(first_codes)
    await expect(page.get_by_role("status")).to_contain_text("You have new recovery codes.")

    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    await page.get_by_label("New password", exact=True).fill("another-long-password-2")
    await page.get_by_label("Confirm new password").fill("another-long-password-2")
    await journey.shot("change-password")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status")).to_have_text("Your password was changed.")

    await page.get_by_role("button", name="Remove the authenticator app").click()
    await expect(page.get_by_role("status")).to_have_text("The authenticator app was removed.")
    await page.locator('[data-credential="passkey"]').get_by_role("button", name="Remove").click()
    await expect(page.get_by_role("status")).to_have_text("The passkey was removed.")
    await expect(page.get_by_text("No passkeys yet.")).to_be_visible()
    await journey.shot("account-after-removals")

    # "Sign out" ends this browser's session, and offers a way back in.
    await page.locator(".identity").get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
    await expect(page.get_by_text("You can close this window")).to_have_count(0)
    await journey.shot("account-signed-out")
    await page.get_by_role("link", name="Sign in again").click()
    await expect(page.get_by_text("to continue to Your account")).to_be_visible()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


# Every code of the recovery-codes page and its number, as the browser lays them out: each box,
# the distinct line tops of the code's text (more than one: the code wrapped), and whether the
# list draws a marker too (a number no box shows, which is how the two columns once overlapped).
CODE_LAYOUT = """() => {
  const box = (element) => {
    const r = element.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  };
  const list = document.querySelector("ol.recovery-codes");
  return {
    list: box(list),
    width: document.documentElement.clientWidth,
    items: [...list.querySelectorAll("li")].map((li) => {
      const code = li.querySelector("code"), number = li.querySelector(".recovery-number");
      const text = document.createRange();
      text.selectNodeContents(code);
      const tops = [...text.getClientRects()].map((r) => Math.round(r.top));
      const style = getComputedStyle(li);
      return {
        marker: style.display === "list-item" && style.listStyleType !== "none",
        code: box(code), text: code.textContent, lines: new Set(tops).size,
        number: number && box(number), label: number && number.textContent,
      };
    }),
  };
}"""


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and (
        a["top"] < b["bottom"] and b["top"] < a["bottom"])


async def test_recovery_codes_are_laid_out_one_per_line_without_overlap(
    server: RunningServer, journey: Journey
) -> None:
    add_user(server, "grace")
    page = journey.page
    await page.goto(f"{server.issuer}/account")
    await journey.sign_in("grace")
    await page.get_by_role("button", name="Get new recovery codes").click()
    await expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    for width in (1280, 375):
        await page.set_viewport_size({"width": width, "height": 900})
        await journey.shot(f"recovery-codes-{width}")
        layout = await page.evaluate(CODE_LAYOUT)
        items = layout["items"]
        assert len(items) == 10 and layout["list"]["right"] <= layout["width"]
        boxes = []
        for index, item in enumerate(items, start=1):
            assert item["label"] == f"{index}." and len(item["text"]) == 14, item
            assert not item["marker"], f"{width}px: a list marker besides the number"
            assert item["lines"] == 1, f"{width}px: {item['text']} wraps"
            assert layout["list"]["left"] <= item["number"]["left"], item
            assert item["code"]["right"] <= layout["list"]["right"], f"{width}px: {item} overflows"
            # The number is on the code's line, before it.
            assert item["number"]["right"] <= item["code"]["left"], f"{width}px: {item}"
            assert item["number"]["top"] < item["code"]["bottom"], f"{width}px: {item}"
            assert item["code"]["top"] < item["number"]["bottom"], f"{width}px: {item}"
            boxes += [(item["label"], item["number"]), (item["text"], item["code"])]
        touching = [(a, b) for i, (a, one) in enumerate(boxes) for b, other in boxes[i + 1:]
                    if overlap(one, other)]
        assert touching == [], f"{width}px: these overlap: {touching}"
