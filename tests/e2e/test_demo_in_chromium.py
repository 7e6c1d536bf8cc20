"""A person signs in to the demo relying party as alice, in a real (headless) Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.e2e.server import ALICE, RunningServer


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    context = await chromium.new_context(locale="en-US")
    page = await context.new_page()
    page.on("console", lambda message: console.append(message.text))
    console: list[str] = []
    page.console_messages = console  # type: ignore[attr-defined]
    yield page
    await context.close()


async def test_sign_in_to_the_demo_as_alice(server: RunningServer, page: Page, artifacts: Path) -> None:
    await page.goto(f"{server.issuer}/demo/")
    await page.screenshot(path=artifacts / "demo-1-start.png")
    await page.get_by_role("link", name="Sign in with Gatehouse").click()

    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_text("to continue to Gatehouse Demo")).to_be_visible()
    await page.screenshot(path=artifacts / "demo-2-identify.png")
    await page.get_by_label("Username or email", exact=True).fill(ALICE[0])
    await page.get_by_role("button", name="Continue").click()

    await expect(page.get_by_role("heading", name="Enter your password")).to_be_visible()
    await page.get_by_label("Password", exact=True).fill("wrong-password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    await page.screenshot(path=artifacts / "demo-3-wrong-password.png")
    await page.get_by_label("Password", exact=True).fill(ALICE[1])
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    await page.screenshot(path=artifacts / "demo-4-signed-in.png", full_page=True)
    claims = page.locator("#id-token-claims")
    await expect(claims.locator('[data-claim="iss"]')).to_have_text(server.issuer)
    await expect(claims.locator('[data-claim="aud"]')).to_have_text("demo-rp")
    await expect(claims.locator('[data-claim="amr"]')).to_have_text('["pwd"]')
    userinfo = page.locator("#userinfo-claims")
    await expect(userinfo.locator('[data-claim="name"]')).to_have_text("Alice Example")
    await expect(userinfo.locator('[data-claim="email"]')).to_have_text("alice@example.com")
    # Sign out: RP-initiated logout with the ID token as hint returns to the demo.
    await page.get_by_role("link", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Demo application")).to_be_visible()
    await page.get_by_role("link", name="Sign in with Gatehouse").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # pages again
    # The CSP allows no inline script or style: a violation would show in the console.
    assert not [m for m in page.console_messages if "Content Security Policy" in m]  # type: ignore[attr-defined]


async def test_pages_in_french_for_a_french_browser(chromium: Browser, server: RunningServer, artifacts: Path) -> None:
    context = await chromium.new_context(locale="fr-FR")
    page = await context.new_page()
    try:
        await page.goto(f"{server.issuer}/demo/")
        await page.get_by_role("link", name="Sign in with Gatehouse").click()
        await expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        await expect(page.get_by_label("Nom d’utilisateur ou e-mail")).to_be_visible()
        await page.screenshot(path=artifacts / "identify-fr.png")
    finally:
        await context.close()


async def test_form_post_page_submits_itself_under_the_csp(
    chromium: Browser, server: RunningServer, artifacts: Path
) -> None:
    context = await chromium.new_context()
    page = await context.new_page()
    posted: list[dict[str, str]] = []

    async def relying_party(route: Route) -> None:
        posted.append({"method": route.request.method, "body": route.request.post_data or ""})
        await route.fulfill(status=200, content_type="text/html", body="<h1>RP got it</h1>")

    await page.route("https://rp.example/callback*", relying_party)
    try:
        await page.goto(f"{server.issuer}/authorize?client_id=demo-rp&response_type=code&scope=openid"
                        "&redirect_uri=https://rp.example/callback&response_mode=form_post&state=xyz")
        await page.get_by_label("Username or email", exact=True).fill(ALICE[0])
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Password", exact=True).fill(ALICE[1])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="RP got it")).to_be_visible()
    finally:
        await context.close()
    assert len(posted) == 1 and posted[0]["method"] == "POST"
    assert "code=" in posted[0]["body"] and "state=xyz" in posted[0]["body"]
