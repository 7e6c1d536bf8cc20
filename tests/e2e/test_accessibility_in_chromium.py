"""What axe cannot check on the pages, checked in Chromium: the focus ring and the input borders
against what is around them (WCAG 2.2 SC 1.4.11, 3:1), where focus goes on a page that shows an
error (SC 3.3.1, 2.4.3), the title that says so, and buttons in the order Tab takes them. Also
that the axe check of every page (tests/e2e/accessibility.py) runs and would fail."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.accessibility import AXE_WATCH, RUN, TAGS
from tests.e2e.server import ALICE, RunningServer

# The contrast ratio (WCAG 2.2) of a colour `a` drawn over `b`: a translucent `a` is blended
# with `b` first, as the screen shows it.
CONTRAST = """([a, b]) => {
  const parse = (css) => { const v = css.match(/[\\d.]+/g).map(Number); return [v.slice(0, 3), v[3] ?? 1]; };
  const [fg, alpha] = parse(a), [bg] = parse(b);
  const shown = fg.map((c, i) => alpha * c + (1 - alpha) * bg[i]);
  const lum = (rgb) => {
    const [r, g, b] = rgb.map(c => c / 255)
      .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [hi, lo] = [lum(shown), lum(bg)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}"""


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:
    context = await chromium.new_context()
    yield await context.new_page()
    await context.close()


async def style(page: Page, selector: str, prop: str) -> str:
    return str(await page.locator(selector).first.evaluate(
        "(el, prop) => getComputedStyle(el)[prop]", prop))


async def contrast(page: Page, a: str, b: str) -> float:
    return float(await page.evaluate(CONTRAST, [a, b]))


async def test_the_focus_ring_and_input_borders_stand_out(
    server: RunningServer, page: Page
) -> None:
    await page.goto(f"{server.issuer}/account")
    card = await style(page, "main.card", "backgroundColor")
    body = await style(page, "html", "backgroundColor")  # the page around the card
    await page.locator("#login").evaluate("field => field.blur()")  # its border at rest
    border = await style(page, "#login", "borderTopColor")
    assert await contrast(page, border, card) >= 3, (border, card)
    await page.keyboard.press("Tab")  # the keyboard, so that :focus-visible applies
    await page.keyboard.press("Shift+Tab")
    focused = page.locator(":focus-visible")
    await expect(focused).to_have_count(1)
    ring = await style(page, ":focus-visible", "outlineColor")
    assert await style(page, ":focus-visible", "outlineStyle") == "solid"
    for around in (card, body):
        assert await contrast(page, ring, around) >= 3, (ring, around)


async def test_an_error_takes_focus_and_names_itself_in_the_title(
    server: RunningServer, page: Page
) -> None:
    await page.goto(f"{server.issuer}/account")
    await expect(page).to_have_title("Sign in · Gatehouse")
    await page.get_by_label("Username or email").fill(ALICE[0])
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_label("Password", exact=True).fill("not her password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page).to_have_title("Error: Enter your password · Gatehouse")
    await expect(page.get_by_label("Password", exact=True)).to_be_focused()


async def test_axe_checks_each_page_and_would_find_a_violation(
    server: RunningServer, page: Page
) -> None:
    before = AXE_WATCH.checked
    await page.goto(f"{server.issuer}/account")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert not await AXE_WATCH.settle() and AXE_WATCH.checked > before
    await page.evaluate("document.documentElement.removeAttribute('lang')")
    found = await page.evaluate(RUN, TAGS)
    assert [v["id"] for v in found] == ["html-has-lang"]


async def test_an_error_on_a_later_field_takes_focus_from_the_first(
    server: RunningServer, page: Page
) -> None:
    """The reset page's code field has autofocus; a refused new password takes it instead."""
    await page.goto(f"{server.issuer}/account")
    await page.get_by_label("Username or email").fill(ALICE[0])
    await page.get_by_role("button", name="Continue").click()
    await page.get_by_role("button", name="Forgot your password?").click()
    await page.get_by_label("Email address").fill("alice@example.com")
    await page.get_by_role("button", name="Send code").click()
    await page.get_by_label("Code", exact=True).fill("12345678")
    await page.get_by_label("New password", exact=True).fill("short")
    await page.get_by_label("Confirm new password").fill("short")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_label("New password", exact=True)).to_be_focused()
