"""Where one endpoint's time goes: Gatehouse (one worker on the server core) under load from the
load core (autocannon, or for `sign-in` the concurrent browsers of `bench.compare`) while py-spy
samples it. Prints a table of the CPU time per request (per sign-in) by part (framework,
signature, store, logs...) and can write py-spy's flame graph (SVG).

    .venv/bin/python -m bench.profile token --svg docs/flamegraphs/token.svg
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.browsers import gatehouse_sign_in, in_browsers
from bench.compare import ENDPOINTS, GATEHOUSE, Busy, cpu_use
from bench.harness import LOAD_CORE, LOAD_SETTINGS, SERVER_CORE, Load, ensure_peer, pinned, settle
from tests.e2e.server import start_server

PY_SPY = Path(sys.executable).with_name("py-spy")
RATE = 250  # samples per second: enough for a 10 s profile, little enough to stay out of the way

# A sample belongs to the innermost frame that names a part (its file path holds the marker).
# Checked in this order for each frame, from the innermost one out.
PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("RS256 signature (joserfc, cryptography)", ("joserfc/", "cryptography/")),
    ("argon2id password hash", ("argon2/",)),
    ("store (SQLite, aiosqlite)", ("aiosqlite/", "sqlite3/", "store/sqlite/", "store/")),
    ("logging (access and audit lines)", ("logging/", "observe/logs", "observe/audit")),
    ("metrics", ("prometheus_client/", "observe/metrics")),
    ("JSON", ("json/", "orjson")),
    ("Gatehouse protocol code (oidc/)", ("oidc/",)),
    ("Gatehouse flows and steps (engine/, steps/)", ("engine/", "steps/", "transitions/")),
    ("Gatehouse server and hooks (server/, observe/, ui/)", ("server/", "observe/", "ui/")),
    ("Quart, Werkzeug, Jinja", ("quart/", "werkzeug/", "jinja2/", "flask/", "blinker/")),
    ("uvicorn and httptools (HTTP/1.1)", ("uvicorn/", "httptools/", "h11/")),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop/", "concurrent/", "threading")),
]
OTHER = "other"

# What each thread of the server does, by a part of its Python name.
EVENT_LOOP_THREAD = "MainThread"
EVENT_LOOP_ROLE = "event loop (HTTP, pages, flows, protocol)"
THREAD_ROLES = [
    (EVENT_LOOP_THREAD, EVENT_LOOP_ROLE),
    ("argon2", "argon2id pool"),
    ("_connection_worker_thread", "SQLite connection (aiosqlite)"),
]
THREAD_LINE = re.compile(r"^thread \((\d+)\): ([^;]*);")


@dataclass
class Profile:
    load: Load
    busy: Busy
    parts: Counter[str]
    threads: dict[str, float]  # CPU seconds per thread role while sampled
    seconds: float

    @property
    def per_thread(self) -> dict[str, float]:
        """CPU milliseconds per request (sign-in) spent by each thread role."""
        done = self.load.rps * self.seconds
        return {role: used / done * 1000 for role, used in self.threads.items()}

    @property
    def ms_per_request(self) -> float:
        """CPU milliseconds the server spent per answered request."""
        return sum(self.busy.server) / self.load.rps * 1000


def part_of(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for part, markers in PARTS:
            if any(marker in frame for marker in markers):
                return part
    return OTHER


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """The CPU seconds each thread of a process has used so far."""
    tick, used = os.sysconf("SC_CLK_TCK"), {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        used[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return used


def thread_roles(path: Path) -> dict[int, str]:
    """Each sampled thread's role, from the names in py-spy's raw output."""
    roles = {}
    for line in path.read_text().splitlines():
        found = THREAD_LINE.match(line)
        if found:
            name = found.group(2)
            roles[int(found.group(1))] = next(
                (role for marker, role in THREAD_ROLES if marker in name), OTHER)
    return roles


def by_role(before: dict[int, float], after: dict[int, float], roles: dict[int, str]) -> dict[str, float]:
    """The CPU seconds used between two readings, summed per thread role."""
    used: Counter[str] = Counter()
    for thread, seconds in after.items():
        used[roles.get(thread, OTHER)] += seconds - before.get(thread, 0.0)
    return dict(used)


def read_raw(path: Path) -> Counter[str]:
    """The event loop thread's samples in py-spy's raw output (collapsed stacks, "thread (id):
    name;frame;... count") counted by part. The other threads are measured, not sampled: a thread
    blocked in C (argon2's pool between hashes, aiosqlite's waiting for a statement) can be
    sampled as busy."""
    parts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        thread = THREAD_LINE.match(line)
        if thread and thread.group(2) == EVENT_LOOP_THREAD:
            parts[part_of(stack)] += int(count)
    return parts


def record(pid: int, seconds: float, output: Path, form: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["taskset", "-c", str(LOAD_CORE), str(PY_SPY), "record", "--pid", str(pid),
         "--duration", str(int(seconds)), "--rate", str(RATE), "--nonblocking", "--threads",
         "--format", form, "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


SIGN_IN = "sign-in"
BROWSERS = 8


def put_load(endpoint_name: str, issuer: str, seconds: float, connections: int) -> Load:
    """`seconds` of load; for sign-ins, the rate as a Load (latencies are not measured)."""
    if endpoint_name == SIGN_IN:
        with pinned({LOAD_CORE}):
            done = asyncio.run(in_browsers(issuer, gatehouse_sign_in, BROWSERS, seconds=seconds))
        return Load(rps=done / seconds, p50=0, p99=0, failed=0)
    endpoint = next(e for e in ENDPOINTS if e.name == endpoint_name)
    return endpoint.load(issuer, seconds, connections)


def profile(
    endpoint_name: str, seconds: float, connections: int, svg: Path | None, raw: Path | None
) -> Profile:
    with tempfile.TemporaryDirectory(prefix="gatehouse-profile-") as workdir:
        with pinned({SERVER_CORE}):
            server = start_server(Path(workdir), **LOAD_SETTINGS)
        try:
            put_load(endpoint_name, server.issuer, 3, connections)  # warm-up
            raw = raw or Path(workdir) / "profile.txt"
            busy = Busy()
            settle()
            sampler = record(server.process.pid, seconds, raw, "raw")
            threads_before = thread_cpu_seconds(server.process.pid)
            with cpu_use(server.process.pid, busy):
                load = put_load(endpoint_name, server.issuer, seconds, connections)
            threads_after = thread_cpu_seconds(server.process.pid)
            sampler.wait()
            if svg is not None:
                settle()
                sampler = record(server.process.pid, seconds, svg, "flamegraph")
                thread = threading.Thread(
                    target=put_load, args=(endpoint_name, server.issuer, seconds, connections)
                )
                thread.start()
                thread.join()
                sampler.wait()
            threads = by_role(threads_before, threads_after, thread_roles(raw))
            return Profile(load, busy, read_raw(raw), threads, seconds)
        finally:
            server.stop()


def report(name: str, result: Profile) -> str:
    """The CPU per request by thread (measured), and the event loop thread's by part (its
    measured CPU shared out as py-spy's samples of it are)."""
    total = sum(result.parts.values()) or 1
    per_thread = result.per_thread
    event_loop = per_thread.get(EVENT_LOOP_ROLE, 0.0)
    unit = "sign-in" if name == SIGN_IN else "request"
    lines = [
        f"{GATEHOUSE} {name}: {result.load.rps:,.1f} {unit}s/s on one core while sampled,"
        f" {result.ms_per_request:.3f} ms of CPU per {unit}",
        "",
        f"| Thread (measured CPU) | ms per {unit} |",
        "|---|---|",
    ]
    for role, used in sorted(per_thread.items(), key=lambda item: -item[1]):
        lines.append(f"| {role} | {used:.3f} |")
    lines += ["", f"| Event loop thread, by part | Share of its samples | ms per {unit} |",
              "|---|---|---|"]
    for part, count in result.parts.most_common():
        share = count / total
        lines.append(f"| {part} | {share:.0%} | {share * event_loop:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("endpoint", choices=[*(e.name for e in ENDPOINTS), SIGN_IN])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--svg", type=Path, help="also record py-spy's flame graph here")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    ensure_peer()  # autocannon
    result = profile(args.endpoint, args.seconds, args.connections, args.svg, args.raw)
    print(report(args.endpoint, result))


if __name__ == "__main__":
    main()
