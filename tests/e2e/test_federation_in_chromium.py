"""Federated sign-in in a real (headless) Chromium: the demo relying party, our pages, the
upstream Gatehouse's pages on another site (127.0.0.2), and back — the run's cookie must come
along on the provider's redirect to the callback (a cross-site top-level navigation)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.server import RunningServer
from tests.e2e.test_federation import CAROL, servers

__all__ = ["servers"]  # the fixture, for pytest


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    context = await chromium.new_context(locale="en-US")
    page = await context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.console_messages = console  # type: ignore[attr-defined]
    yield page
    await context.close()


async def test_a_new_account_through_the_upstream_provider_in_chromium(
    servers: tuple[RunningServer, RunningServer], page: Page, artifacts: Path
) -> None:
    up, down = servers
    await page.goto(f"{down.issuer}/demo/")
    await page.get_by_role("link", name="Sign in with Gatehouse").click()
    await expect(page.get_by_role("button", name="Sign in with Upstream")).to_be_visible()
    await page.screenshot(path=artifacts / "federation-1-choose.png")
    await page.get_by_role("button", name="Sign in with Upstream").click()

    await page.get_by_label("Username or email", exact=True).fill(CAROL[0])
    assert page.url.startswith(up.issuer + "/")  # the provider's own pages
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Password", exact=True).fill(CAROL[1])
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_text("This account is new here")).to_be_visible()
    assert page.url.startswith(down.issuer + "/")  # back with us, the run going on
    await page.screenshot(path=artifacts / "federation-2-new-account.png")
    await page.get_by_label("Choose a username").fill("carol")
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_label("I accept the terms of service").check()
    await page.get_by_role("button", name="Continue").click()

    await expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    claims = page.locator("#id-token-claims")
    await expect(claims.locator('[data-claim="amr"]')).to_have_text('["fed"]')
    await expect(page.locator("#userinfo-claims").locator('[data-claim="email"]')).to_have_text(
        "carol@example.org"
    )
    assert not [m for m in page.console_messages if "Content Security Policy" in m]  # type: ignore[attr-defined]
