"""What a crash test's clients saw: every run, code, refresh-token family and session they
touched, whether each request that touched it was answered or cut off by the crash, and the
server's `kill -9`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET

CALLBACK = "https://rp.example/callback"
DEMO_RP = ("demo-rp", CONFIDENTIAL_SECRET)
EXPIRED = "This sign-in has expired"


def authorize_url(scope: str = "openid", **extra: str) -> str:
    return "/authorize?" + str(httpx2.QueryParams({
        "client_id": DEMO_RP[0], "redirect_uri": CALLBACK, "response_type": "code",
        "scope": scope, **extra}))


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (uvicorn's workers, were `serve` to start any)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def kill_tree(pid: int) -> int:
    """SIGKILL `pid` and every process below it, children first seen; how many were killed."""
    tree = [pid, *descendants(pid)]
    for each in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(each, signal.SIGKILL)
    return len(tree)


class Chaos:
    """Counts the answers every client gets while armed and remembers any 5xx; `reached` is set
    at `kill_after` answers (time to kill the server), `brink` a few answers before."""

    def __init__(self, kill_after: int) -> None:
        self.kill_after, self.answers, self.armed = kill_after, 0, False
        self.reached, self.brink = asyncio.Event(), asyncio.Event()
        self.killed = False
        self.server_errors: list[str] = []
        self.counts: Counter[str] = Counter()

    async def on_response(self, response: httpx2.Response) -> None:
        if response.status_code >= 500:
            self.server_errors.append(f"{response.status_code} {response.request.url}")
        if self.armed:
            self.answers += 1
            if self.answers >= self.kill_after - 3:
                self.brink.set()
            if self.answers >= self.kill_after:
                self.reached.set()

    def client(self, base_url: str, cookies: Any = None) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=base_url, follow_redirects=False, cookies=cookies,
                                  timeout=30, event_hooks={"response": [self.on_response]})

    def browser(self, origin: str) -> Browser:
        return Browser(origin, self)

    async def step(self, call: Any) -> Any:
        """Await one client step begun before the kill; None when the crash cut it off."""
        try:
            return await call
        except httpx2.TransportError:
            if not self.killed:  # workers only run again once the kill is done
                raise
            self.counts["steps cut off by the crash"] += 1
            return None


class Browser(FormBrowser):
    """A FormBrowser whose answers `Chaos` counts, that notes the flow run it is on."""

    def __init__(self, origin: str, chaos: Chaos) -> None:
        super().__init__(origin)
        self.chaos = chaos
        self.http = chaos.client(origin)
        self.http.event_hooks["response"].append(self._note_run)
        self.run_path: str | None = None

    async def _note_run(self, response: httpx2.Response) -> None:
        for url in (str(response.request.url), response.headers.get("location", "")):
            path = urlsplit(url).path
            if path.startswith("/flow/"):
                self.run_path = path

    async def revive(self) -> None:
        """New connections (the old ones died with the server), the same cookies."""
        cookies = self.http.cookies
        await self.http.aclose()
        self.http = self.chaos.client(self.origin, cookies)
        self.http.event_hooks["response"].append(self._note_run)

    def session_cookie(self) -> str | None:
        return self.http.cookies.get("gh_session")


@dataclass
class SignIn:
    """A sign-in through the pages: the stage it reached, and its code once it had one."""

    browser: Browser
    stage: str = "authorize"  # authorize → login → password → done
    page: httpx2.Response | None = None  # the password page, for a run prepared up to it
    code: str | None = None
    submitting: bool = False  # its password form was sent during the crash round


@dataclass
class Code:
    code: str
    redemption: str = "unsent"  # unsent, answered, cut
    family: Family | None = None  # what the answered redemption gave
    claimed: bool = False  # a cut redemption the store had already marked


@dataclass
class Family:
    """The tokens of one grant, refresh tokens in rotation order; `in_flight` is the last one's
    rotation when the crash cut it off."""

    refresh: list[str]
    access: list[str]
    in_flight: bool = False
    claimed: bool = False  # a cut rotation the store had already marked


@dataclass
class Logout:
    """A signed-in browser on the logout confirmation page; the confirmation is the logout."""

    browser: Browser
    cookie: str
    page: httpx2.Response
    outcome: str = "unsent"  # unsent, answered, cut


@dataclass
class Ledger:
    sign_ins: list[SignIn] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    logouts: list[Logout] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # cookies nobody logged out
    access_tokens: list[str] = field(default_factory=list)  # every one received
    refresh_tokens: list[str] = field(default_factory=list)  # every one received

    def received(self, tokens: dict[str, Any]) -> None:
        self.access_tokens.append(tokens["access_token"])
        if "refresh_token" in tokens:
            self.refresh_tokens.append(tokens["refresh_token"])

    def family(self, tokens: dict[str, Any]) -> Family:
        assert "refresh_token" in tokens, tokens
        self.received(tokens)
        family = Family([tokens["refresh_token"]], [tokens["access_token"]])
        self.families.append(family)
        return family

    def rotated(self, family: Family, tokens: dict[str, Any]) -> None:
        self.received(tokens)
        family.refresh.append(tokens["refresh_token"])
        family.access.append(tokens["access_token"])


def form_fields(page: httpx2.Response) -> set[str]:
    form = BeautifulSoup(page.text, "html.parser").find("form")
    return {str(i["name"]) for i in form.find_all("input") if i.get("name")} if form else set()


async def carry_on(browser: Browser, page: httpx2.Response) -> str | None:
    """Go on from `page` as a person would: the code the sign-in ends with, or None on the
    designed "expired" page."""
    for _ in range(4):
        assert page.status_code < 500, f"{page.status_code} at {page.url}: {page_text(page)}"
        if page.status_code == 410:
            assert EXPIRED in page_text(page), page_text(page)
            return None
        if page.is_redirect:
            target, params = redirect_params(page)
            assert target == CALLBACK and "code" in params, (target, params)
            return params["code"]
        assert page.status_code == 200, (page.status_code, page_text(page))
        fields = form_fields(page)
        if "password" in fields:
            page = await browser.submit(page, password=ALICE[1])
        elif "login" in fields:
            page = await browser.submit(page, login=ALICE[0])
        else:
            raise AssertionError(f"an unexpected page: {page_text(page)}")
    raise AssertionError("the sign-in did not end")
