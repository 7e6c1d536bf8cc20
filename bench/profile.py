"""Where one endpoint's time goes: Gatehouse (one worker on the server core) under load from the
load core (autocannon, or for `sign-in` the concurrent browsers of `bench.compare`) while py-spy
samples it. Prints a table of the CPU time per request (per sign-in) by part (framework,
signature, store, logs...) and can write py-spy's flame graph (SVG).

    .venv/bin/python -m bench.profile token --svg docs/flamegraphs/token.svg
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.browsers import gatehouse_sign_in, in_browsers
from bench.compare import ENDPOINTS, GATEHOUSE, Busy, cpu_use
from bench.harness import LOAD_CORE, SERVER_CORE, Load, ensure_peer, pinned, settle
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


@dataclass
class Profile:
    load: Load
    busy: Busy
    parts: Counter[str]

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


def read_raw(path: Path) -> Counter[str]:
    """py-spy's raw output (collapsed stacks, "frame;frame;... count") counted by part."""
    parts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            parts[part_of(stack)] += int(count)
    return parts


def record(pid: int, seconds: float, output: Path, form: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["taskset", "-c", str(LOAD_CORE), str(PY_SPY), "record", "--pid", str(pid),
         "--duration", str(int(seconds)), "--rate", str(RATE), "--nonblocking",
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
            server = start_server(Path(workdir))
        try:
            put_load(endpoint_name, server.issuer, 3, connections)  # warm-up
            raw = raw or Path(workdir) / "profile.txt"
            busy = Busy()
            settle()
            sampler = record(server.process.pid, seconds, raw, "raw")
            with cpu_use(server.process.pid, busy):
                load = put_load(endpoint_name, server.issuer, seconds, connections)
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
            return Profile(load, busy, read_raw(raw))
        finally:
            server.stop()


def report(name: str, result: Profile) -> str:
    total = sum(result.parts.values()) or 1
    per_request = result.ms_per_request
    unit = "sign-in" if name == SIGN_IN else "request"
    lines = [
        f"{GATEHOUSE} {name}: {result.load.rps:,.1f} {unit}s/s on one core while sampled,"
        f" {per_request:.3f} ms of CPU per {unit}",
        "",
        f"| Part | Share of samples | ms per {unit} |",
        "|---|---|---|",
    ]
    for part, count in result.parts.most_common():
        share = count / total
        lines.append(f"| {part} | {share:.0%} | {share * per_request:.3f} |")
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
