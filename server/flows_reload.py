"""Reloading flows.yaml while serving: on SIGHUP, and when the file changes (checked every few
seconds). An invalid file is reported and the flows in use stay; runs in flight keep the version
they started with."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from engine import FlowEngine, FlowsError, check_directories, check_offered, load_flows_text
from server.maintenance import every
from store import Store
from ui import check_templates

log = logging.getLogger("gatehouse.flows")


class FlowsReloader:
    def __init__(self, engine: FlowEngine, path: Path, store: Store) -> None:
        self.engine, self.path, self.store = engine, path, store
        self.seen = self._digest(self._read())

    def _read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            log.error("cannot read %s: %s", self.path, exc)
            return None

    @staticmethod
    def _digest(text: str | None) -> str | None:
        return hashlib.sha256(text.encode()).hexdigest() if text is not None else None

    async def check(self) -> bool:
        """Load the file if it changed since the last look; True when new flows are in use."""
        text = self._read()
        digest = self._digest(text)
        if text is None or digest == self.seen:
            return False
        self.seen = digest
        try:
            flows = load_flows_text(text, str(self.path))
        except FlowsError as exc:
            log.error("%s is invalid; the previous flows stay in use:\n%s", self.path, exc)
            return False
        missing = sorted(
            f"{client.client_id} -> {client.flow}"
            for client in await self.store.clients.all()
            if client.flow is not None and client.flow not in flows.flows
        )
        if missing:
            log.error("%s lacks flows that clients use (%s); the previous flows stay in use",
                      self.path, ", ".join(missing))
            return False
        try:
            check_offered(flows, self.engine.services.upstreams)
            check_directories(flows, self.engine.services.directories)
            check_templates(flows)
        except ValueError as exc:
            log.error("%s: %s; the previous flows stay in use", self.path, exc)
            return False
        self.engine.reload(flows)
        log.info("loaded %s (version %s)", self.path, flows.version)
        return True


def watch_flows(
    engine: FlowEngine, path: Path, store: Store, interval: float,
    on_sighup: Callable[[], Awaitable[None]] | None = None,
) -> list[asyncio.Task[None]]:
    """Start watching; SIGHUP reloads at once (where the platform has it), and runs `on_sighup`
    (the config's part of a reload)."""
    reloader = FlowsReloader(engine, path, store)

    async def reload() -> None:
        await reloader.check()
        if on_sighup is not None:
            await on_sighup()

    async def poll() -> None:
        await reloader.check()

    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(reload()))
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):
        log.info("no SIGHUP here: flows reload on file change only")
    if interval <= 0:
        return []
    return [asyncio.create_task(every(interval, poll, "reloading flows"))]
