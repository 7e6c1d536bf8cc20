"""Running flows: a run is loaded, advanced by at most one outcome, and saved, once per request."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from engine.compiled import CompiledFlow
from engine.loader import FlowSet
from engine.model import TERMINALS
from steps.base import Outcome, Page, StepContext
from steps.password_hashing import PasswordHashing
from store.records import ClientRecord, FlowRunRecord
from store.repositories import Store


class FlowEngine:
    """Starts runs for authorize requests and moves them through their flow."""

    def __init__(
        self,
        flows: FlowSet,
        store: Store,
        passwords: PasswordHashing,
        run_lifetime: int = 1800,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.flows, self.store, self.passwords = flows, store, passwords
        self.run_lifetime, self.clock = run_lifetime, clock

    def select(self, client: ClientRecord) -> CompiledFlow:
        """The flow for this client: its `flow:` if it names one, the default otherwise."""
        return self.flows.get(client.flow)

    async def start(
        self, client: ClientRecord, request: dict[str, Any], browser_hash: str
    ) -> FlowRunRecord:
        flow = self.select(client)
        now = self.clock()
        run = FlowRunRecord(
            id=secrets.token_urlsafe(24),
            flow=flow.name,
            flow_hash=flow.hash,
            state=flow.start,
            client_id=client.client_id,
            request=request,
            browser_hash=browser_hash,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + self.run_lifetime,
            log=[{"at": now, "event": "start", "step": flow.start}],
        )
        await self.store.runs.add(run)
        return run

    async def load(self, run_id: str) -> FlowRunRecord | None:
        """A run that is still alive and whose flow has not changed under it."""
        run = await self.store.runs.get(run_id, self.clock())
        if run is None or self._flow_of(run) is None:
            return None
        return run

    def _flow_of(self, run: FlowRunRecord) -> CompiledFlow | None:
        flow = self.flows.flows.get(run.flow)
        return flow if flow is not None and flow.hash == run.flow_hash else None

    @staticmethod
    def is_finished(run: FlowRunRecord) -> bool:
        return run.state in TERMINALS

    def _context(self, run: FlowRunRecord, client: ClientRecord) -> StepContext:
        return StepContext(run, run.state, client, self.store, self.passwords, self.clock())

    async def render(self, run: FlowRunRecord, client: ClientRecord) -> Page:
        flow = self._flow_of(run)
        assert flow is not None and not self.is_finished(run)
        return await flow.steps[run.state].render(self._context(run, client))

    async def submit(
        self, run: FlowRunRecord, client: ClientRecord, form: Mapping[str, str]
    ) -> Page | None:
        """Hand a form to the current step. A `Page` means: show it again (with errors); None
        means the run moved on. Raises `StaleVersionError` if another request moved it first."""
        flow = self._flow_of(run)
        assert flow is not None and not self.is_finished(run)
        step_name = run.state
        result = await flow.steps[step_name].handle(self._context(run, client), form)
        if isinstance(result, Outcome):
            run.state = flow.advance(step_name, result.name)
            run.log.append(
                {
                    "at": self.clock(),
                    "event": "outcome",
                    "step": step_name,
                    "outcome": result.name,
                    "to": run.state,
                }
            )
        await self.store.runs.save(run)
        return result if isinstance(result, Page) else None

    async def finish(self, run: FlowRunRecord) -> None:
        """Consume a finished run: of two requests racing to finish it, one wins."""
        await self.store.runs.delete(run)
