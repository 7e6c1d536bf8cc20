"""The landing page in a real (headless) Chromium: its links lead where they say, under the CSP,
with no console error. (Headless Chromium does not ask for icons: tests/ui/test_home.py checks
that every page names `/favicon.ico` and that it is served.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.server import RunningServer


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    context = await chromium.new_context(locale="en-US")
    page = await context.new_page()
    yield page
    await context.close()


async def test_the_landing_page_links_lead_where_they_say_without_errors(
    server: RunningServer, page: Page
) -> None:
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    await page.goto(f"{server.issuer}/")
    await expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    await page.get_by_role("link", name="Try the demo application").click()
    await expect(page.get_by_role("heading", name="Demo application")).to_be_visible()
    await page.go_back()
    await page.get_by_role("link", name="Your account").click()  # not signed in: sign in first
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.go_back()
    await page.get_by_role("link", name="OpenID Connect discovery (for developers)").click()
    assert f'"issuer":"{server.issuer}"' in (await page.content()).replace(" ", "")
    assert errors == []
