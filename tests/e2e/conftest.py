from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.e2e.accessibility import AXE_WATCH, watched
from tests.e2e.browser import FormBrowser
from tests.e2e.chromium import CHROMIUM_ARGS, chromium_path
from tests.e2e.server import RunningServer, start_server
from tests.mail_catcher import MailCatcher


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("gatehouse"))
    yield running
    running.stop()


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[FormBrowser]:
    b = FormBrowser(server.issuer)
    yield b
    await b.close()


@pytest.fixture(params=["query", "form_post"])
def mode(request: pytest.FixtureRequest) -> str:
    """The response mode: a test taking it runs as in the Basic OP plan (query) and as in the
    Form Post OP plan (form_post); build its request with `browser.with_mode`."""
    return str(request.param)


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless (never a downloaded browser)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        new_context = browser.new_context

        async def checked_context(**options: Any) -> BrowserContext:
            return await watched(await new_context(**options))

        browser.new_context = checked_context  # type: ignore[method-assign]
        yield browser
        await browser.close()


@pytest.fixture(autouse=True)
async def accessible_pages() -> AsyncIterator[None]:
    """A test fails when a page it opened in Chromium breaks a WCAG 2.x A or AA rule that axe
    checks (tests/e2e/accessibility.py)."""
    await AXE_WATCH.settle()
    yield
    violations = await AXE_WATCH.settle()
    assert not violations, "accessibility violations:\n" + "\n".join(violations)


@pytest.fixture
def artifacts() -> Path:
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def mail() -> Iterator[MailCatcher]:
    """A real SMTP server the module's servers mail to (`mailing_to`)."""
    with MailCatcher() as catcher:
        yield catcher
