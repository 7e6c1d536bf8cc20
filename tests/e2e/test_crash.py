"""`kill -9` of the server while sign-ins, code redemptions, refresh-token rotations, userinfo
calls and logouts are in flight, then a restart on the same config and store, three times at
different moments: every run, code, token and session is intact or cleanly ended, nothing is
issued twice, the store is not corrupt, and the server never answers 500. On every store backend."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Coroutine
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx2

from core import digest
from store import open_store
from store.url import sqlite_path
from tests.e2e.browser import redirect_params
from tests.e2e.crash_ledger import (
    CALLBACK,
    DEMO_RP,
    Browser,
    Chaos,
    Code,
    Family,
    Ledger,
    Logout,
    SignIn,
    authorize_url,
    carry_on,
    form_fields,
    kill_tree,
)
from tests.e2e.server import ALICE, RunningServer, launch, start_server, wait_ready

OFFLINE = "openid offline_access"
KILL_AFTER = (5, 30, 90)  # answers seen in a round before its kill: early, middle, late
PREPARED_RUNS, SUBMITTED_RUNS = 8, 4  # runs at the password page; how many submit in the round
IDLE_FAMILIES, ROTATING_FAMILIES, PENDING_CODES, LOGOUTS = 4, 6, 4, 5  # half the idle rotated
REDEEMERS, SIGNERS = 5, 4


async def token(http: httpx2.AsyncClient, **form: str) -> httpx2.Response:
    return await http.post("/token", data=form, auth=DEMO_RP)


async def redeem(http: httpx2.AsyncClient, code: str) -> httpx2.Response:
    return await token(http, grant_type="authorization_code", code=code, redirect_uri=CALLBACK)


async def rotate(http: httpx2.AsyncClient, refresh_token: str) -> httpx2.Response:
    return await token(http, grant_type="refresh_token", refresh_token=refresh_token)


def refused(answer: httpx2.Response) -> bool:
    return answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def granted(answer: httpx2.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def userinfo(http: httpx2.AsyncClient, access_token: str) -> int:
    answer = await http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    return answer.status_code


def code_of(answer: httpx2.Response) -> str:
    target, params = redirect_params(answer)
    assert target == CALLBACK, (target, params)
    return params["code"]


class Round:
    """One round: objects prepared, traffic started, the server killed mid-flight, restarted,
    and every object checked."""

    def __init__(self, server: RunningServer, kill_after: int) -> None:
        self.server, self.chaos, self.ledger = server, Chaos(kill_after), Ledger()
        self.counts = self.chaos.counts
        self.http = self.chaos.client(server.issuer)
        self.seed = self.chaos.browser(server.issuer)
        self.browsers: list[Browser] = [self.seed]
        self.rotating: list[Family] = []
        self.idle: list[Family] = []

    def browser(self) -> Browser:
        self.browsers.append(self.chaos.browser(self.server.issuer))
        return self.browsers[-1]

    async def close(self) -> None:
        await self.http.aclose()
        for browser in self.browsers:
            await browser.close()

    # Before the crash.

    async def prepare(self) -> None:
        ledger = self.ledger
        first = await self.seed.sign_in(authorize_url(OFFLINE), *ALICE)
        ledger.sessions.append(str(self.seed.session_cookie()))
        codes = [code_of(first)] + [
            code_of(await self.seed.open(authorize_url(OFFLINE)))
            for _ in range(IDLE_FAMILIES + ROTATING_FAMILIES + PENDING_CODES - 1)
        ]
        for index, code in enumerate(codes[:IDLE_FAMILIES]):  # redeemed, then left alone
            family = ledger.family(granted(await redeem(self.http, code)))
            if index % 2:
                ledger.rotated(family, granted(await rotate(self.http, family.refresh[0])))
            ledger.codes.append(Code(code, "answered", family))
            self.idle.append(family)
        for code in codes[IDLE_FAMILIES:IDLE_FAMILIES + ROTATING_FAMILIES]:
            self.rotating.append(ledger.family(granted(await redeem(self.http, code))))
        ledger.codes += [Code(code) for code in codes[IDLE_FAMILIES + ROTATING_FAMILIES:]]
        for _ in range(PREPARED_RUNS):  # identify done, password pending
            sign_in = SignIn(self.browser())
            page = await sign_in.browser.submit(
                await sign_in.browser.open(authorize_url()), login=ALICE[0])
            assert "password" in form_fields(page) and sign_in.browser.run_path, page.text
            sign_in.stage, sign_in.page = "password", page
            ledger.sign_ins.append(sign_in)
        for _ in range(LOGOUTS + 1):  # online grants: a logout ends them, so no codes kept
            browser = self.browser()
            assert (await browser.sign_in(authorize_url(), *ALICE)).is_redirect
            page = await browser.http.get("/logout")
            assert page.status_code == 200 and "csrf_token" in page.text, page.text
            ledger.logouts.append(Logout(browser, str(browser.session_cookie()), page))
        done = ledger.logouts[-1]  # signed out before the crash: stays signed out
        assert (await done.browser.submit(done.page)).status_code == 200
        done.outcome = "answered"

    # The crash.

    async def crash(self) -> None:
        chaos = self.chaos
        # Half the one-off requests go at once, half just before the kill.
        work = [
            *(self.on_brink(i, self.submit_password(s))
              for i, s in enumerate(self.ledger.sign_ins[:SUBMITTED_RUNS])),
            *(self.on_brink(i, self.log_out(logout))
              for i, logout in enumerate(self.ledger.logouts[:LOGOUTS])),
            *(self.keep_rotating(family) for family in self.rotating),
            *(self.keep_redeeming() for _ in range(REDEEMERS)),
            *(self.keep_signing_in() for _ in range(SIGNERS)),
            *(self.keep_asking_userinfo(family.access[-1]) for family in self.idle),
        ]
        chaos.armed = True
        running = {asyncio.create_task(each) for each in work}
        reached = asyncio.create_task(chaos.reached.wait())
        pending: set[asyncio.Task[Any]] = set(running)
        while not reached.done():
            done, pending = await asyncio.wait(
                {reached, *pending}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            assert done, "no answers for a minute"
            for task in done - {reached}:
                task.result()  # a worker's failure, now rather than after the kill
            pending.discard(reached)
        killed = kill_tree(self.server.process.pid)
        chaos.killed = True
        self.server.process.wait(10)
        self.counts["processes killed"] += killed
        await asyncio.gather(*running)
        self.counts["answers before the kill"] += chaos.answers

    async def on_brink(self, index: int, work: Coroutine[Any, Any, None]) -> None:
        if index % 2:
            await self.chaos.brink.wait()
        if self.chaos.killed:
            work.close()  # never sent: its object must be intact
            return
        await work

    async def submit_password(self, sign_in: SignIn) -> None:
        assert sign_in.page is not None
        sign_in.submitting = True
        answer = await self.chaos.step(sign_in.browser.submit(sign_in.page, password=ALICE[1]))
        if answer is not None:
            self.signed_in(sign_in, answer)

    def signed_in(self, sign_in: SignIn, answer: httpx2.Response) -> None:
        sign_in.code, sign_in.stage = code_of(answer), "done"
        self.ledger.codes.append(Code(sign_in.code))
        self.ledger.sessions.append(str(sign_in.browser.session_cookie()))

    async def log_out(self, logout: Logout) -> None:
        logout.outcome = "cut"
        answer = await self.chaos.step(logout.browser.submit(logout.page))
        if answer is not None:
            assert answer.status_code == 200, answer.text
            logout.outcome = "answered"

    async def keep_rotating(self, family: Family) -> None:
        while not self.chaos.killed:
            family.in_flight = True
            answer = await self.chaos.step(rotate(self.http, family.refresh[-1]))
            if answer is None:
                return
            family.in_flight = False
            self.ledger.rotated(family, granted(answer))

    async def keep_redeeming(self) -> None:
        while not self.chaos.killed:
            answer = await self.chaos.step(self.seed.open(authorize_url(OFFLINE)))
            if answer is None:
                return
            code = Code(code_of(answer))
            self.ledger.codes.append(code)
            if self.chaos.killed:
                return
            code.redemption = "cut"
            answer = await self.chaos.step(redeem(self.http, code.code))
            if answer is None:
                return
            code.redemption, code.family = "answered", self.ledger.family(granted(answer))

    async def keep_signing_in(self) -> None:
        chaos = self.chaos
        while not chaos.killed:
            sign_in = SignIn(self.browser())
            self.ledger.sign_ins.append(sign_in)
            page = await chaos.step(sign_in.browser.open(authorize_url()))
            if page is None or chaos.killed:
                return
            sign_in.stage = "login"
            page = await chaos.step(sign_in.browser.submit(page, login=ALICE[0]))
            if page is None or chaos.killed:
                return
            sign_in.stage, sign_in.submitting = "password", True
            answer = await chaos.step(sign_in.browser.submit(page, password=ALICE[1]))
            if answer is None:
                return
            self.signed_in(sign_in, answer)

    async def keep_asking_userinfo(self, access_token: str) -> None:
        while not self.chaos.killed:
            answer = await self.chaos.step(userinfo(self.http, access_token))
            if answer is None:
                return
            assert answer == 200, answer
            self.counts["userinfo answers during the round"] += 1

    # While the server is down: the store as the crash left it.

    async def inspect_store(self, store_url: str) -> None:
        """Every answered redemption or rotation is marked used, nothing unsent is; of those
        cut off, note which the store had already marked."""
        store, now = await open_store(store_url), time.time()
        try:
            for code in self.ledger.codes:
                record = await store.codes.get(digest(code.code), now)
                assert record is not None, code
                if code.redemption == "cut":
                    code.claimed = record.version == 1
                    self.counts[f"cut redemptions {'' if code.claimed else 'not '}committed"] += 1
                else:
                    assert record.version == (code.redemption == "answered"), code
            for family in self.ledger.families:
                records = [await store.refresh_tokens.get(digest(t), now) for t in family.refresh]
                assert all(r is not None for r in records), family
                versions = [r.version for r in records if r is not None]
                assert versions[:-1] == [1] * (len(versions) - 1), (family, versions)
                if family.in_flight:
                    family.claimed = versions[-1] == 1
                    self.counts[f"cut rotations {'' if family.claimed else 'not '}committed"] += 1
                else:
                    assert versions[-1] == 0, (family, versions)
        finally:
            await store.close()

    # After the restart.

    async def check(self, server: RunningServer) -> None:
        self.server = server
        await self.http.aclose()
        self.http = self.chaos.client(server.issuer)
        for browser in self.browsers:
            await browser.revive()
        await self.check_runs()
        await self.check_codes()
        await self.check_families()
        await self.check_sessions()
        ledger = self.ledger
        for issued in (ledger.access_tokens, ledger.refresh_tokens, [c.code for c in ledger.codes]):
            assert len(set(issued)) == len(issued), "a token or code was issued twice"
        self.counts["tokens and codes received, all distinct"] += (
            len(ledger.access_tokens) + len(ledger.refresh_tokens) + len(ledger.codes))

    async def check_runs(self) -> None:
        """A run nothing could have consumed goes on to a code; one that gave its code is gone
        (the expired page); one cut off mid-submit is either; never a 500."""
        for sign_in in list(self.ledger.sign_ins):
            browser = sign_in.browser
            if browser.run_path is None:
                self.counts["sign-ins cut before their run was known"] += 1
                continue
            code = await carry_on(browser, await browser.open(browser.run_path))
            if sign_in.code is not None:
                assert code is None, "a finished run gave a second code"
                self.counts["finished runs: expired page"] += 1
            elif not sign_in.submitting:
                assert code is not None, f"a run at {sign_in.stage} did not go on"
                self.counts[f"runs at {sign_in.stage} continued to a code"] += 1
            else:
                self.counts[f"cut runs: {'continued to a code' if code else 'expired page'}"] += 1
            if code is not None:
                self.ledger.codes.append(Code(code))
                self.ledger.sessions.append(str(browser.session_cookie()))

    async def check_codes(self) -> None:
        """Each code yields tokens at most once across the crash; a spent one stays spent and
        its replay revokes what it gave."""
        for code in self.ledger.codes:
            if code.redemption == "answered":
                assert code.family is not None
                await self.check_spent_code(code, code.family)
                continue
            first = await redeem(self.http, code.code)
            if code.redemption == "unsent":
                self.ledger.received(granted(first))
                self.counts["unsent codes redeemed once after the restart"] += 1
            elif code.claimed:
                assert refused(first), first.text
                self.counts["cut redemptions: code spent"] += 1
            else:
                self.ledger.received(granted(first))
                self.counts["cut redemptions: code redeemed after the restart"] += 1
            assert refused(await redeem(self.http, code.code))
            self.counts["codes refused a second time"] += 1

    async def check_spent_code(self, code: Code, family: Family) -> None:
        """Its tokens still work; then a replay (of a rotated refresh token if there is one,
        else of the code) is refused and ends them all; the code stays refused."""
        rotated = family.refresh[:-1]
        self.ledger.rotated(family, granted(await rotate(self.http, family.refresh[-1])))
        assert await userinfo(self.http, family.access[-1]) == 200
        if rotated:
            assert all([refused(await rotate(self.http, old)) for old in rotated])
            self.counts["rotated refresh tokens refused"] += len(rotated)
        assert refused(await redeem(self.http, code.code))
        assert refused(await rotate(self.http, family.refresh[-1]))
        for access in family.access:
            assert await userinfo(self.http, access) == 401
        self.counts["answered codes: intact tokens, then a replay ended them"] += 1
        self.ledger.families.remove(family)  # checked

    async def check_families(self) -> None:
        """The newest refresh token works unless the crash cut its rotation after the store
        marked it; every rotated one is refused, and a replay ends the family."""
        for family in self.ledger.families:
            latest = await rotate(self.http, family.refresh[-1])
            if family.in_flight and family.claimed:
                assert refused(latest), latest.text
                self.counts["cut rotations: token spent"] += 1
                rotated = family.refresh
            else:
                self.ledger.rotated(family, granted(latest))
                self.counts["newest refresh tokens rotated after the restart"] += 1
                rotated = family.refresh[:-1]
            for old in rotated:
                assert refused(await rotate(self.http, old)), old
                self.counts["rotated refresh tokens refused"] += 1
            assert refused(await rotate(self.http, family.refresh[-1]))
            for access in family.access:
                assert await userinfo(self.http, access) == 401
            self.counts["families ended by a replay"] += 1

    async def check_sessions(self) -> None:
        for logout in self.ledger.logouts:
            outcome = await self.prompt_none(logout.cookie)
            if logout.outcome == "answered":
                assert outcome == "login_required", outcome
            self.counts[f"{logout.outcome} logouts: {outcome}"] += 1
        for cookie in self.ledger.sessions:
            assert await self.prompt_none(cookie) == "code"
            self.counts["sessions still signing in with prompt=none"] += 1

    async def prompt_none(self, cookie: str) -> str:
        async with self.chaos.client(self.server.issuer, {"gh_session": cookie}) as http:
            target, params = redirect_params(await http.get(authorize_url(prompt="none")))
        assert target == CALLBACK, (target, params)
        return "code" if "code" in params else params["error"]


def integrity(store_url: str) -> str:
    with closing(sqlite3.connect(sqlite_path(store_url))) as db:
        return "\n".join(row[0] for row in db.execute("PRAGMA integrity_check"))


def restart(server: RunningServer, log: Path) -> RunningServer:
    """The same config: the same port, so the same issuer and cookies."""
    return wait_ready(RunningServer(
        server.issuer, launch(server.config, log), server.config, log, server.port))


async def test_kill_9_mid_traffic_leaves_everything_intact_or_cleanly_ended(
    store_url: str, tmp_path: Path
) -> None:
    server = start_server(tmp_path, store=store_url, code_lifetime=600)
    logs, totals = [server.log], Counter[str]()
    try:
        for number, kill_after in enumerate(KILL_AFTER, 1):
            round_ = Round(server, kill_after)
            try:
                await round_.prepare()
                await round_.crash()
                if store_url.startswith("sqlite"):
                    assert integrity(store_url) == "ok"
                    round_.counts["integrity checks: ok"] += 1
                await round_.inspect_store(store_url)
                server = restart(server, tmp_path / f"server-after-kill-{number}.log")
                logs.append(server.log)
                await round_.check(server)
            finally:
                await round_.close()
            assert not round_.chaos.server_errors, round_.chaos.server_errors
            assert round_.counts["steps cut off by the crash"] > 0, round_.counts
            print(f"kill {number} after {kill_after} answers:", dict(sorted(round_.counts.items())))
            totals.update(round_.counts)
    finally:
        server.stop()
    for log in logs:
        assert "Traceback" not in log.read_text(), log.read_text()
    if store_url.startswith("sqlite"):
        assert integrity(store_url) == "ok"
    # Deterministic in every round; the rest depends on where each kill landed.
    rounds = len(KILL_AFTER)
    assert totals["runs at password continued to a code"] >= rounds * (
        PREPARED_RUNS - SUBMITTED_RUNS)
    assert totals["unsent codes redeemed once after the restart"] >= rounds * PENDING_CODES
    assert totals["answered codes: intact tokens, then a replay ended them"] >= (
        rounds * IDLE_FAMILIES)
    assert totals["rotated refresh tokens refused"] >= rounds * IDLE_FAMILIES // 2
    assert totals["answered logouts: login_required"] >= rounds
    assert totals["sessions still signing in with prompt=none"] >= rounds
    assert totals["processes killed"] >= rounds  # the server, and any worker it started
    assert totals["cut rotations committed"] + totals["cut rotations not committed"] >= rounds
    assert totals["cut redemptions committed"] + totals["cut redemptions not committed"] > 0
