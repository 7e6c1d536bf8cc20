"""What the side-by-side benchmarks run on: CPU pinning, the peer (node-oidc-provider) and its
installation, the load generator (autocannon), and process memory."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ports import free_port
from tests.processes import stop

# The load generator is one client address: the per-address limit on journeys begun is off.
LOAD_SETTINGS: dict[str, Any] = {"runs_per_minute_per_address": 0}
PEER_DIR = Path(__file__).resolve().parent / "peer"
AUTOCANNON = PEER_DIR / "node_modules" / "autocannon" / "autocannon.js"
SERVER_CORE, LOAD_CORE = 0, 1


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise SystemExit("the benchmarks need Node.js (apt-get install nodejs npm)")
    return found


def ensure_peer() -> None:
    """`npm ci` in bench/peer when its node_modules is missing or older than the lock file."""
    installed = PEER_DIR / "node_modules" / ".package-lock.json"
    lock = PEER_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the benchmarks need npm (apt-get install npm)")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(PEER_DIR)], check=True)


def cores_for(workers: int) -> set[int]:
    """The cores a server of `workers` processes runs on: one core, or every core."""
    return {SERVER_CORE} if workers == 1 else set(range(os.cpu_count() or 1))


@contextmanager
def pinned(cores: set[int]) -> Iterator[None]:
    """Run this process (and what it starts meanwhile, which inherits it) on `cores`."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@dataclass
class Peer:
    issuer: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.process)

    def live_heap(self) -> int:
        """Bytes of live JavaScript objects after a full garbage collection (one process)."""
        assert self.process.stdout is not None
        os.kill(self.process.pid, signal.SIGUSR2)
        line = self.process.stdout.readline().split()
        assert line[0] == b"heap", line
        time.sleep(0.5)  # for the collection's freed pages to leave the resident set
        return int(line[1])


def start_peer(workers: int, log: Path) -> Peer:
    """node-oidc-provider (bench/peer/provider.js) on a free loopback port, once it is ready."""
    port = free_port()
    process = subprocess.Popen(
        [node(), "--expose-gc", "provider.js", str(port), str(workers)], cwd=PEER_DIR,
        stdout=subprocess.PIPE, stderr=log.open("wb"),
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        process.kill()
        raise RuntimeError(f"the peer did not start: {log.read_text()}")
    return Peer(f"http://127.0.0.1:{port}", process)


@dataclass
class Load:
    """One autocannon run: requests per second and latency percentiles (ms)."""

    rps: float
    p50: float
    p99: float
    failed: int


def autocannon(
    url: str, seconds: float, connections: int, method: str = "GET",
    headers: dict[str, str] | None = None, body: str | None = None,
) -> Load:
    """Closed-loop load on `url` from the load core: `connections` keep-alive connections, one
    request in flight on each, for `seconds`."""
    args = ["taskset", "-c", str(LOAD_CORE), node(), str(AUTOCANNON), "--json",
            "-c", str(connections), "-d", str(seconds), "-m", method]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}={value}"]
    if body is not None:
        args += ["-b", body]
    done = subprocess.run([*args, url], capture_output=True, check=True)
    result = json.loads(done.stdout)
    return Load(
        rps=result["2xx"] / result["duration"], p50=result["latency"]["p50"],
        p99=result["latency"]["p99"],
        failed=result["non2xx"] + result["errors"] + result["timeouts"],
    )


def process_tree(pid: int) -> dict[int, tuple[int, float]]:
    """A process and all its descendants (a server's workers): {pid: (resident bytes, CPU
    seconds so far)}."""
    stats: dict[int, tuple[int, int, float]] = {}  # pid: (parent, resident bytes, CPU seconds)
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            # After the command: state, ppid, …, utime (12th), stime, …, rss (22nd).
            stats[int(entry.name)] = (int(fields[1]), int(fields[21]) * page,
                                      (int(fields[11]) + int(fields[12])) / tick)
    tree, pending = {}, [pid]
    while pending:
        current = pending.pop()
        if current in stats:
            tree[current] = stats[current][1:]
        pending += [child for child, (parent, _, _) in stats.items() if parent == current]
    return tree


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its descendants."""
    return sum(rss for rss, _ in process_tree(pid).values())


def cpu_seconds(pid: int) -> dict[int, float]:
    """CPU time so far of a process and each of its descendants."""
    return {child: cpu for child, (_, cpu) in process_tree(pid).items()}


def settle(seconds: float = 1.0) -> None:
    """A pause between measurements, so that one's stragglers are not the next one's load."""
    time.sleep(seconds)


def machine() -> dict[str, str]:
    """Facts that make a result comparable: CPU, cores, versions."""
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())

    def version(package: str) -> str:
        return str(json.loads((PEER_DIR / "node_modules" / package / "package.json")
                              .read_text())["version"])

    from importlib.metadata import version as py_version

    return {
        "CPU": f"{model}, {os.cpu_count()} cores",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Gatehouse": f"{py_version('gatehouse')} (uvicorn {py_version('uvicorn')},"
                     f" argon2-cffi {py_version('argon2-cffi')})",
        "Node.js": subprocess.run([node(), "--version"], capture_output=True, text=True,
                                  check=True).stdout.strip(),
        "node-oidc-provider": version("oidc-provider"),
        "autocannon": version("autocannon"),
    }
