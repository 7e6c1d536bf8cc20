"""axe-core on every Gatehouse page the Chromium tests open: it is injected into each page of
every browser context (`watch`), runs when the page has loaded, and a test fails on any WCAG 2.x
A or AA violation in the pages it visited (tests/e2e/conftest.py). A page the test leaves before
axe has finished is not checked; pages that are not Gatehouse's (a client's, an upstream
provider's) are not either."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN = """async (tags) => {
  // Gatehouse's pages only: not a client's, an upstream provider's, JSON or a browser error.
  if (!window.axe || !document.querySelector('link[href$="/gatehouse.css"]')) return null;
  try {
    const found = await window.axe.run(document, {
      runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
    });
    return found.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
    }));
  } catch (error) {
    return null;  // axe already running on this page, or the page went away
  }
}"""


class AxeWatch:
    """What axe found in the pages of the current test, and the checks still running."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked = 0
        self._running: set[asyncio.Task[None]] = set()

    async def watch(self, context: BrowserContext) -> None:
        """Check every page of `context` once it has loaded."""
        if not AXE.is_file():
            raise RuntimeError(f"{AXE} is missing: run scripts/install.sh --test")
        await context.add_init_script(path=AXE)
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("load", lambda loaded: self._start(loaded))

    def _start(self, page: Page) -> None:
        task = asyncio.ensure_future(self._check(page))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _check(self, page: Page) -> None:
        url = page.url
        try:
            found: list[dict[str, Any]] | None = await page.evaluate(RUN, TAGS)
        except PlaywrightError:
            return  # the page navigated away or closed first
        if found is None:
            return
        self.checked += 1
        for v in found:
            self.violations.append(
                f"{url}: {v['id']} ({v['impact']}) {v['help']}: {', '.join(v['nodes'])}"
            )

    async def settle(self) -> list[str]:
        """The violations found, once the checks begun have ended; then a fresh start."""
        await asyncio.gather(*self._running, return_exceptions=True)
        found, self.violations = self.violations, []
        return found


AXE_WATCH = AxeWatch()


async def watched(context: BrowserContext) -> BrowserContext:
    await AXE_WATCH.watch(context)
    return context
