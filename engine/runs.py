"""Running flows: a run is loaded, advanced, and saved once per request.

Moving a run: a step's outcome picks a branch (conditions evaluated first), which leads to a step,
a sub-flow (entered at its start, with the caller kept on the run's stack) or a terminal (a
sub-flow's `done`/`deny` returns to its caller as that outcome). Steps that have nothing to ask
answer `render` with an outcome, so the run moves on until a step shows a page or the run ends.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from core import N_
from engine.compiled import BranchKey, CompiledFlow
from engine.loader import FlowSet
from engine.model import TERMINALS
from engine.selection import select_flow
from engine.sign_in_request import SignInRequest
from observe import audit, count_step
from steps import NOTICE, BrowserFacts, Outcome, Page, Redirect, Services, StepContext, SubflowStep
from store import (
    AuthEvent,
    ClientRecord,
    FlowRunRecord,
    Frame,
    RunLogRecord,
    StaleVersionError,
    StoreUnavailableError,
)

ACCOUNT_DISABLED = N_("This account is disabled. Ask your administrator to enable it.")
STEP_FAILED = N_("Something went wrong on our side. Go back to the application and try again.")
T = TypeVar("T")
log = logging.getLogger("gatehouse.engine")
MAX_MOVES = 100  # per request: a loop of steps that all pass without a page is a flows.yaml bug
MAX_LOG = 200
RESTART_GRACE = 3600  # an expired run is kept this long, so its page can offer "Start again"
SWITCH_USER = "_switch_user"
CHOSEN_OUTCOME = "_outcome"
FORM_STEP = "_step"


class RunError(RuntimeError):
    """A flow that moves forever without showing a page."""


class StepFailure(Exception):
    """A step did what its declaration does not allow (an outcome it does not declare)."""


@dataclass(frozen=True)
class Seed:
    """What an existing SSO session already proved, for a run that only adds to it (step-up,
    consent): steps whose proof is there pass without a page. A password-reset link seeds only
    who the run is for, with no proof."""

    subject: str
    events: list[AuthEvent]
    sid: str | None = None


class FlowEngine:
    """Starts runs for sign-in requests and moves them through their flows."""

    def __init__(
        self,
        flows: FlowSet,
        services: Services,
        run_lifetime: int = 1800,
        clock: Callable[[], float] = time.time,
        versions_kept: int = 20,
        run_log_retention: int = 86400,
    ) -> None:
        self.services, self.store = services, services.store
        self.run_lifetime, self.clock, self.versions_kept = run_lifetime, clock, versions_kept
        self.run_log_retention = run_log_retention
        self.versions: OrderedDict[str, FlowSet] = OrderedDict()
        self.flows = flows
        self.reload(flows)

    def reload(self, flows: FlowSet) -> None:
        """Serve new runs from `flows`; runs in flight keep the version they started with."""
        self.flows = flows
        self.versions[flows.version] = flows
        self.versions.move_to_end(flows.version)
        while len(self.versions) > self.versions_kept:
            self.versions.popitem(last=False)

    async def start(
        self,
        client: ClientRecord,
        sign_in: SignInRequest,
        browser_hash: str,
        seed: Seed | None = None,
        browser: BrowserFacts | None = None,
        flow_name: str | None = None,
    ) -> FlowRunRecord:
        """A run for `sign_in` (from `client`), on the flow selection picks (or `flow_name`, for
        the account page's actions), saved after moving past the steps that have nothing to ask."""
        if sign_in.client_id != client.client_id:
            raise ValueError("the sign-in request is for another client")
        flow = self.flows.get(flow_name or select_flow(self.flows.spec, client, sign_in))
        now = self.clock()
        run = FlowRunRecord(
            id=secrets.token_urlsafe(24),
            flow=flow.name,
            flows_version=self.flows.version,
            state=flow.start,
            sign_in=sign_in,
            browser_hash=browser_hash,
            csrf_token=secrets.token_urlsafe(24),
            subject=seed.subject if seed else None,
            auth_events=list(seed.events) if seed else [],
            session_sid=seed.sid if seed else None,
            created_at=now,
            deadline=now + self.run_lifetime,
            expires_at=now + self.run_lifetime + RESTART_GRACE,
            log=[{"at": now, "event": "start", "flow": flow.name, "seeded": seed is not None}],
        )
        if seed is not None:
            user = await self.store.users.get(seed.subject)
            if user is not None:
                run.scratch["_flow"] = {"login": user.username}
        ctx = self._context(run, client, browser)
        await self._enter(run, ctx)
        await self._settle(run, ctx)  # no form may reach a step that would pass without a page
        await self.store.runs.add(run)
        return run

    async def load(self, run_id: str) -> FlowRunRecord | None:
        """A run, if it exists (see `can_go_on`)."""
        return await self.store.runs.get(run_id, self.clock())

    def can_go_on(self, run: FlowRunRecord) -> bool:
        """Before its deadline, and on a flows version this process knows (else: start again)."""
        return self.clock() < (run.deadline or run.expires_at) and (
            run.flows_version in self.versions
        )

    @staticmethod
    def position(run: FlowRunRecord) -> str:
        """Where the run is, as forms name it (`flow/step`): a form for any other place is stale."""
        return f"{run.flow}/{run.state}"

    @staticmethod
    def is_finished(run: FlowRunRecord) -> bool:
        return run.state in TERMINALS and not run.stack

    def _flow(self, run: FlowRunRecord) -> CompiledFlow:
        return self.versions[run.flows_version].flows[run.flow]

    def _context(
        self, run: FlowRunRecord, client: ClientRecord, browser: BrowserFacts | None
    ) -> StepContext:
        return StepContext(
            run, run.state, client, self.services, self.clock(), browser or BrowserFacts(),
        )

    async def show(
        self, run: FlowRunRecord, client: ClientRecord, browser: BrowserFacts | None = None
    ) -> Page | None:
        """The current step's page, after moving past steps with nothing to ask; None when the
        run has finished. Saves the run if it moved (`StaleVersionError` if another request did)."""
        ctx = self._context(run, client, browser)
        before = run.model_dump()
        page = await self._settle(run, ctx)
        if run.model_dump() != before:
            await self.store.runs.save(run)
        return page

    async def submit(
        self,
        run: FlowRunRecord,
        client: ClientRecord,
        form: Mapping[str, str],
        browser: BrowserFacts | None = None,
    ) -> Page | Redirect | None:
        """Hand a form to the current step. A `Page` means: show it again (with errors); a
        `Redirect`: send the browser there (the run waits for it to come back); None means the
        run moved on (or the form was for another step). Raises `StaleVersionError` if another
        request moved the run first."""
        if self.is_finished(run) or form.get(FORM_STEP, self.position(run)) != self.position(run):
            return None  # a form from an earlier page (the Back button): show the current step
        ctx = self._context(run, client, browser)
        run.scratch.get("_flow", {}).pop(NOTICE, None)  # said on the pages before this form
        step = self._flow(run).steps[run.state]
        chosen = form.get(CHOSEN_OUTCOME)
        result: Page | Outcome | Redirect
        if SWITCH_USER in form:
            self._restart(run)
            await self._enter(run, ctx)
            await self._settle(run, ctx)
            await self.store.runs.save(run)
            return None
        if chosen and chosen in step.optional_outcomes and chosen in self._wired(run):
            result = Outcome(chosen)
            await self._fire(run, ctx, chosen)
            await self._settle(run, ctx)
        else:
            handled = await self._guarded(run, functools.partial(step.handle, ctx, form))
            if handled is None:
                await self.store.runs.save(run)
                return None  # the step failed: the run ended in `error`
            result = handled
            if isinstance(result, Outcome):
                await self._fire(run, ctx, result.name)
                # Move past steps with nothing to ask now, so a finished run goes straight back
                # to the client (the next page itself is shown by the GET that follows).
                await self._settle(run, ctx)
            elif isinstance(result, Page) and result.errors:
                run.attempts[run.state] = run.attempts.get(run.state, 0) + 1
        await self.store.runs.save(run)
        if isinstance(result, Redirect):
            self._log(run, "redirect", step=run.state)
            return result
        return self._decorate(run, result) if isinstance(result, Page) else None

    async def come_back(
        self,
        run: FlowRunRecord,
        client: ClientRecord,
        params: Mapping[str, str],
        browser: BrowserFacts | None = None,
    ) -> None:
        """The browser returned from where the current step's `Redirect` sent it: the step
        finishes what it began (an outcome moves the run on), and the run is saved. Raises
        `StaleVersionError` if another request moved the run first."""
        if self.is_finished(run):
            return
        ctx = self._context(run, client, browser)
        step = self._flow(run).steps[run.state]
        outcome = await self._guarded(run, functools.partial(step.returned, ctx, params))
        if outcome is not None and not self.is_finished(run):
            await self._fire(run, ctx, outcome.name)
            await self._settle(run, ctx)
        await self.store.runs.save(run)

    async def finish(self, run: FlowRunRecord) -> None:
        """Consume a finished run: of two requests racing to finish it, one wins. Its event log
        is kept for `run_log_retention` seconds (none when 0)."""
        await self.store.runs.delete(run)
        if self.run_log_retention:
            now = self.clock()
            await self.store.run_logs.add(RunLogRecord(
                id=run.id, flow=run.flow, client_id=run.sign_in.client_id, subject=run.subject,
                state=run.state, started_at=run.created_at, finished_at=now, log=run.log,
                expires_at=now + self.run_log_retention,
            ))

    async def _settle(self, run: FlowRunRecord, ctx: StepContext) -> Page | None:
        for _ in range(MAX_MOVES):
            if self.is_finished(run):
                return None
            ctx.step_name = run.state
            step = self._flow(run).steps[run.state]
            result = await self._guarded(run, functools.partial(step.render, ctx))
            if result is None:
                return None  # the step failed: the run ended in `error`
            if isinstance(result, Page):
                return self._decorate(run, result)
            await self._fire(run, ctx, result.name)
        raise RunError(f"run {run.id} moved {MAX_MOVES} times without a page (flow {run.flow})")

    async def _fire(self, run: FlowRunRecord, ctx: StepContext, outcome: str) -> None:
        """Take the branch of `outcome` whose condition holds, then enter where it leads."""
        flow, origin = self._flow(run), run.state
        if run.auth_events and (user := await ctx.user()) is not None and user.disabled:
            # Said only once the person proved who they are, so it tells a guesser nothing.
            run.state, run.message = "error", ACCOUNT_DISABLED
            run.stack.clear()
            self._log(run, "disabled", flow=run.flow, step=origin)
            await audit(self.store, "sign_in_failed", subject=user.id,
                        client_id=run.sign_in.client_id, reason="disabled", flow=run.flow)
            return
        step = flow.steps.get(origin)
        declared = step.outcomes_for(step.options) | set(step.optional_outcomes) if step else set()
        if step is not None and outcome not in declared:
            kind = flow.spec.steps[origin].type
            self.fail(run, f"step {origin!r} (type {kind}) answered the outcome {outcome!r},"
                      f" which it does not declare (it declares {', '.join(sorted(declared))})")
            return
        truths: dict[BranchKey, bool] = {}
        seen: dict[str, bool] = {}
        for key, branch in flow.branches(origin, outcome):
            test = flow.conditions.get(key)
            if test is None:
                taken = branch
                break
            truths[key] = seen[flow.descriptions[key]] = await test.test(ctx)
            if truths[key]:
                taken = branch
                break
        run.state = flow.advance(origin, outcome, truths)
        count_step(run.flow, origin, outcome)
        run.message = taken.message if run.state in ("deny", "error") else None
        self._log(run, "outcome", flow=run.flow, step=origin, outcome=outcome, to=run.state,
                  conditions=seen)
        await self._enter(run, ctx)

    async def _enter(self, run: FlowRunRecord, ctx: StepContext) -> None:
        """Follow where the run has just arrived: into a sub-flow, or back out of one."""
        step = self._flow(run).steps.get(run.state)
        if isinstance(step, SubflowStep):
            run.stack.append(Frame(flow=run.flow, step=run.state))
            run.flow = step.options.flow  # type: ignore[attr-defined]
            run.state = self._flow(run).start
            self._log(run, "enter", flow=run.flow)
            await self._enter(run, ctx)
        elif run.state in TERMINALS and run.stack:
            if run.state == "error":
                run.stack.clear()  # an error ends the whole run
                return
            frame, outcome = run.stack.pop(), run.state
            run.flow, run.state = frame.flow, frame.step
            self._log(run, "return", flow=run.flow, outcome=outcome)
            await self._fire(run, ctx, outcome)

    async def _guarded(
        self, run: FlowRunRecord, call: Callable[[], Awaitable[T]]
    ) -> T | None:
        """What the current step's `call` answers; None when it raised: the run then ends in
        `error` (the person gets the designed page, the client an answer), and the log names
        the flow, step and run. The store's own errors are not the step's: they go on up."""
        try:
            return await call()
        except (StaleVersionError, StoreUnavailableError):
            raise
        except Exception as exc:
            self.fail(run, f"{type(exc).__name__}: {exc}", exc)
            return None

    def fail(self, run: FlowRunRecord, reason: str, exc: BaseException | None = None) -> None:
        """End the run in `error` because its current step failed (`reason`, for the log)."""
        step = run.state
        log.error("flow %s, step %s, run %s failed: %s", run.flow, step, run.id, reason,
                  exc_info=exc)
        self._log(run, "step_failed", flow=run.flow, step=step, reason=reason[:300])
        run.state, run.message = "error", STEP_FAILED
        run.stack.clear()

    def _restart(self, run: FlowRunRecord) -> None:
        """"Not you?": forget who was identified and what they proved; start the flow over."""
        top = run.stack[0].flow if run.stack else run.flow
        run.flow, run.stack, run.subject, run.message = top, [], None, None
        run.session_sid = None
        run.state = self._flow(run).start
        run.auth_events, run.scratch, run.attempts = [], {}, {}
        self._log(run, "switch_user", flow=top)

    def _wired(self, run: FlowRunRecord) -> set[str]:
        return set(self._flow(run).spec.steps[run.state].on)

    def _decorate(self, run: FlowRunRecord, page: Page) -> Page:
        """Add what every step page offers: the wired optional outcomes, and "not you?"."""
        step = self._flow(run).steps[run.state]
        wired = self._wired(run)
        page.actions = [(o, label) for o, label in step.optional_outcomes.items() if o in wired]
        page.step = self.position(run)
        shared = run.scratch.get("_flow", {})
        login, notice = shared.get("login"), shared.get(NOTICE)
        page.identified_as = login if isinstance(login, str) else None
        page.notice = notice if isinstance(notice, str) else None
        return page

    def _log(self, run: FlowRunRecord, event: str, **details: Any) -> None:
        run.log.append({"at": self.clock(), "event": event, **details})
        del run.log[:-MAX_LOG]

