"""Flows for an administrator: each listed with the clients that use it, drawn as SVG (Graphviz
`dot`, from the DOT text `gatehouse flows graph` prints), and the event logs of its recent runs."""

from __future__ import annotations

import asyncio
import shutil

from admin.actors import AdminError, NotFound
from engine import render_dot
from oidc import Provider
from store import ClientRecord, Cursor, RunLogRecord

DOT_SECONDS = 10
MAX_DRAWINGS = 64
_drawings: dict[str, bytes] = {}


class NoGraphviz(AdminError):
    status = 503
    title = "Service unavailable"


def flow_names(provider: Provider) -> list[str]:
    return list(provider.engine.flows.flows)


def users_of(provider: Provider, name: str, clients: list[ClientRecord]) -> list[str]:
    default = provider.engine.flows.default
    return [c.client_id for c in clients if (c.flow or default) == name]


def dot_of(provider: Provider, name: str) -> str:
    if name not in provider.engine.flows.flows:
        raise NotFound(f"no flow {name!r}")
    return render_dot(provider.engine.flows, name)


async def svg_of(provider: Provider, name: str) -> bytes:
    """The flow drawn by Graphviz; `NoGraphviz` when `dot` is not installed."""
    return await _drawn(dot_of(provider, name))


async def _drawn(dot: str) -> bytes:
    """A DOT text drawn once per process (the text is the key: a reload draws again)."""
    svg = _drawings.get(dot)
    if svg is None:
        svg = await _draw(dot)
        if len(_drawings) >= MAX_DRAWINGS:
            _drawings.pop(next(iter(_drawings)))
        _drawings[dot] = svg
    return svg


async def _draw(dot: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise NoGraphviz("Graphviz is not installed here: install it (Debian: apt install"
                         " graphviz) to draw flows, or use `gatehouse flows graph`")
    process = await asyncio.create_subprocess_exec(
        program, "-Tsvg", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(dot.encode()), DOT_SECONDS)
    except TimeoutError:
        process.kill()
        raise NoGraphviz("Graphviz took too long to draw this flow") from None
    if process.returncode != 0:
        raise NoGraphviz(f"Graphviz could not draw this flow: {err.decode(errors='replace')[:200]}")
    return out


async def recent_runs(
    provider: Provider, name: str, limit: int, after: Cursor | None
) -> list[RunLogRecord]:
    if name not in provider.engine.flows.flows:
        raise NotFound(f"no flow {name!r}")
    return await provider.store.run_logs.recent(name, provider.clock(), limit, after)


async def run_log(provider: Provider, run_id: str) -> RunLogRecord:
    found = await provider.store.run_logs.get(run_id, provider.clock())
    if found is None:
        raise NotFound(f"no finished run {run_id!r} (logs are kept for run_log_retention)")
    return found
