"""Gatehouse side by side with node-oidc-provider on this machine: the token endpoint
(client_credentials, RS256 JWT access tokens), discovery and JWKS under a bounded load, full
interactive sign-ins against the bare argon2id verify floor, with 1 and 2 worker processes, and
the memory that 10,000 sign-in journeys and 10,000 sessions take. Prints a markdown block for
docs/benchmarks.md (or writes it there with --write-doc)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import json
import os
import resource
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from bench.browsers import gatehouse_sign_in, in_browsers
from bench.harness import (
    LOAD_CORE,
    LOAD_SETTINGS,
    SERVER_CORE,
    Load,
    autocannon,
    cores_for,
    cpu_seconds,
    ensure_peer,
    machine,
    pinned,
    settle,
    start_peer,
)
from bench.memory import PER, Memory, measure_memory, memory_rows
from bench.sign_in import argon2_floor_ms
from steps.password_hashing import OWASP_MEMORY_COST_KIB, OWASP_PARALLELISM, OWASP_TIME_COST
from tests.e2e.server import SERVICE_SECRET, RunningServer, start_server

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:results -->", "<!-- /bench:results -->"
GATEHOUSE, PEER = "Gatehouse", "node-oidc-provider"
MEASURES = ["token", "discovery", "jwks", "sign-in"]
# The same request to both: the service client, both API scopes, the API as the audience.
TOKEN_BODY = ("grant_type=client_credentials&scope=api%3Aread+api%3Awrite"
              "&resource=https%3A%2F%2Fapi.example%2F")
TOKEN_HEADERS = {
    "Authorization": "Basic " + base64.b64encode(f"service:{SERVICE_SECRET}".encode()).decode(),
    "Content-Type": "application/x-www-form-urlencoded",
}


@dataclass
class Endpoint:
    """One URL put under load, as autocannon sends it."""

    name: str
    url: Callable[[str], str]  # of the issuer
    method: str = "GET"
    headers: dict[str, str] | None = None
    body: str | None = None

    def load(self, issuer: str, seconds: float, connections: int) -> Load:
        return autocannon(self.url(issuer), seconds, connections, self.method, self.headers,
                          self.body)


def jwks_uri(issuer: str) -> str:
    return str(httpx2.get(f"{issuer}/.well-known/openid-configuration").json()["jwks_uri"])


ENDPOINTS = [
    Endpoint("token", lambda issuer: f"{issuer}/token", "POST", TOKEN_HEADERS, TOKEN_BODY),
    Endpoint("discovery", lambda issuer: f"{issuer}/.well-known/openid-configuration"),
    Endpoint("jwks", jwks_uri),
]


@dataclass
class Busy:
    """Cores kept busy during a measurement: by each server process, and by the load generator."""

    server: list[float] = field(default_factory=list)  # busiest first
    load: float = 0.0

    def __str__(self) -> str:
        cores = " + ".join(f"{c:.2f}" for c in self.server if c >= 0.005) or "0"
        return f"{cores} (load generator {self.load:.2f})"


def own_cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the autocannon runs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime


@contextmanager
def cpu_use(pid: int, into: Busy) -> Iterator[None]:
    """Fill `into` with the cores the server's processes and the load generator kept busy."""
    before, generator, start = cpu_seconds(pid), own_cpu_seconds(), time.perf_counter()
    yield
    after, elapsed = cpu_seconds(pid), time.perf_counter() - start
    into.server = sorted(((after[p] - before.get(p, 0)) / elapsed for p in after), reverse=True)
    into.load = (own_cpu_seconds() - generator) / elapsed


@dataclass
class Server:
    name: str
    issuer: str
    pid: int


@dataclass
class Results:
    """Every round's figures with one worker count."""

    workers: int
    loads: dict[tuple[str, str], list[Load]] = field(default_factory=dict)  # (endpoint, server)
    sign_ins: list[float] = field(default_factory=list)  # per second, whole server
    floor: list[float] = field(default_factory=list)  # argon2id verifies per second, one core
    busy: dict[tuple[str, str], Busy] = field(default_factory=dict)  # in the last round

    @property
    def loads_of(self) -> set[str]:
        """The endpoints measured."""
        return {endpoint for endpoint, _ in self.loads}

    @property
    def cores(self) -> int:
        return len(cores_for(self.workers))


def check_token_endpoints(servers: list[Server]) -> None:
    """Both servers answer the benchmark's token request with an RS256 `at+jwt`."""
    for server in servers:
        response = httpx2.post(f"{server.issuer}/token", headers=TOKEN_HEADERS,
                               content=TOKEN_BODY)
        assert response.status_code == 200, f"{server.name}: {response.text}"
        header = json.loads(base64.urlsafe_b64decode(
            response.json()["access_token"].split(".")[0] + "=="))
        assert (header["alg"], header["typ"]) == ("RS256", "at+jwt"), f"{server.name}: {header}"


def load_rounds(results: Results, servers: list[Server], args: argparse.Namespace) -> None:
    """A warm-up, then per round each endpoint on each server, which one first alternating."""
    endpoints = [endpoint for endpoint in ENDPOINTS if endpoint.name in args.measures]
    if not endpoints:
        return
    for endpoint in endpoints:
        for server in servers:
            endpoint.load(server.issuer, args.warmup, args.connections)
    for round_ in range(args.rounds):
        order = servers if round_ % 2 == 0 else servers[::-1]
        for endpoint in endpoints:
            for server in order:
                settle()
                busy = results.busy.setdefault((endpoint.name, server.name), Busy())
                with cpu_use(server.pid, busy):
                    load = endpoint.load(server.issuer, args.seconds, args.connections)
                if load.failed:
                    print(f"warning: {load.failed} failed requests, {endpoint.name} on"
                          f" {server.name}", file=sys.stderr)
                results.loads.setdefault((endpoint.name, server.name), []).append(load)
        print(f"  round {round_ + 1}: load done", file=sys.stderr)


def sign_in_rounds(results: Results, server: RunningServer, args: argparse.Namespace) -> None:
    """A warm-up, then per round the argon2id floor on the server's core (servers idle), then
    full sign-ins from concurrent browsers on the load core."""

    def sign_ins(seconds: float) -> float:
        start = time.perf_counter()
        done = asyncio.run(in_browsers(server.issuer, gatehouse_sign_in, args.browsers,
                                       seconds=seconds))
        return done / (time.perf_counter() - start)

    sign_ins(args.warmup)
    for round_ in range(args.rounds):
        settle()
        with pinned({SERVER_CORE}):
            results.floor.append(1000 / argon2_floor_ms(max(20, int(args.seconds * 20))))
        settle()
        busy = results.busy.setdefault(("sign-in", GATEHOUSE), Busy())
        with pinned({LOAD_CORE}), cpu_use(server.process.pid, busy):
            results.sign_ins.append(sign_ins(args.seconds))
        print(f"  round {round_ + 1}: sign-ins done", file=sys.stderr)


def run_workers(workers: int, workdir: Path, args: argparse.Namespace) -> Results:
    """Both servers with `workers` processes on their cores, measured round by round."""
    results = Results(workers)
    with ExitStack() as stack:
        with pinned(cores_for(workers)):  # what starts meanwhile inherits the cores
            (workdir / f"gatehouse-{workers}").mkdir()
            gatehouse = start_server(workdir / f"gatehouse-{workers}",
                                     serve_args=("--workers", str(workers)), **LOAD_SETTINGS)
            stack.callback(gatehouse.stop)
            peer = start_peer(workers, workdir / f"peer-{workers}.log")
            stack.callback(peer.stop)
        servers = [Server(GATEHOUSE, gatehouse.issuer, gatehouse.process.pid),
                   Server(PEER, peer.issuer, peer.process.pid)]
        check_token_endpoints(servers)
        print(f"{workers} worker(s):", file=sys.stderr)
        load_rounds(results, servers, args)
        if "sign-in" in args.measures:
            sign_in_rounds(results, gatehouse, args)
    return results


def spread(values: list[float], digits: int = 0) -> str:
    """The median, and the range of the rounds when there were several."""
    median = f"{statistics.median(values):,.{digits}f}"
    if len(values) < 2:
        return median
    return f"{median} ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def verdict(target: str, ok: bool) -> str:
    return f"{target}: {'met' if ok else '**below**'}"


def cpu_ms_per_sign_in(results: Results) -> float:
    """Server CPU per sign-in in the last round: the cores its processes kept busy over the
    sign-ins per second of the whole server."""
    return sum(results.busy["sign-in", GATEHOUSE].server) / results.sign_ins[-1] * 1000


def result_rows(results: Results, one_worker: Results | None = None) -> list[list[str]]:
    """The table's rows for one worker count (`one_worker`: the 1-worker results, which the
    CPU per sign-in of more workers is held against)."""
    cores = results.cores
    workers = f"{results.workers} ({cores} core{'s' if cores > 1 else ''})"

    def per_core(endpoint: str, server: str) -> list[float]:
        return [load.rps / cores for load in results.loads[endpoint, server]]

    def side_by_side(label: str, endpoint: str, target: float | None = None) -> list[str]:
        ours, theirs = per_core(endpoint, GATEHOUSE), per_core(endpoint, PEER)
        ratio = statistics.median(ours) / statistics.median(theirs)
        return [label, workers, spread(ours), spread(theirs), f"{ratio:.2f}×",
                verdict(f"≥ {target:.1f}×", ratio >= target) if target else ""]

    rows: list[list[str]] = []
    if "token" in results.loads_of:
        p99 = {name: [load.p99 for load in results.loads["token", name]]
               for name in (GATEHOUSE, PEER)}
        rows += [
            side_by_side("Token endpoint, requests/s per core", "token", 1.2),
            ["Token endpoint, p99 latency (ms)", workers, spread(p99[GATEHOUSE]),
             spread(p99[PEER]), "", verdict("< 20 ms", statistics.median(p99[GATEHOUSE]) < 20)],
            ["Token endpoint, cores busy per server process", workers,
             str(results.busy["token", GATEHOUSE]), str(results.busy["token", PEER]), "", ""],
        ]
    if "discovery" in results.loads_of:
        rows.append(side_by_side("Discovery, requests/s per core", "discovery", 1.0))
    if "jwks" in results.loads_of:
        rows.append(side_by_side("JWKS, requests/s per core", "jwks", 1.0))
    if results.sign_ins:
        sign_ins = [rate / cores for rate in results.sign_ins]
        share = statistics.median(sign_ins) / statistics.median(results.floor)
        cpu = cpu_ms_per_sign_in(results)
        if one_worker is None or one_worker is results or not one_worker.sign_ins:
            cpu_target = ""
        else:
            cpu_target = verdict("≤ 1.1× one worker's",
                                 cpu <= 1.1 * cpu_ms_per_sign_in(one_worker))
        rows += [
            ["Full sign-ins/s per core (argon2id)", workers, spread(sign_ins, 1), "n/a",
             f"{share:.2f}× the floor", verdict("≥ 0.8× the floor", share >= 0.8)],
            ["Sign-ins, cores busy per server process", workers,
             str(results.busy["sign-in", GATEHOUSE]), "", "", ""],
            ["Server CPU per sign-in (ms, last round)", workers, f"{cpu:.1f}", "", "",
             cpu_target],
            ["argon2id verify floor, verifies/s on one core", workers,
             spread(results.floor, 1), "", "", ""],
        ]
    return rows


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def report(
    all_results: list[Results], memory: Memory | None, args: argparse.Namespace, command: str,
    facts: dict[str, str], started: datetime.datetime,
) -> str:
    """The results block of docs/benchmarks.md, markers included."""
    lines = [
        BEGIN,
        f"Measured on {started:%Y-%m-%d} with `{command}`: {args.rounds} round(s) of"
        f" {args.seconds:g} s per measurement after a {args.warmup:g} s warm-up,"
        f" {args.connections} connections, {args.browsers} concurrent browsers for sign-ins;"
        " medians of the rounds, their range in brackets.",
        "",
        *[f"- {name}: {value}" for name, value in facts.items()],
        "",
        *table(["Measure", "Workers", GATEHOUSE, PEER, "Ratio", "Target"],
               [row for results in all_results
                for row in result_rows(results, next((r for r in all_results if r.workers == 1),
                                                     None))]),
    ]
    if memory is not None:
        lines += [
            "",
            f"Memory per {PER:,}, measured with {memory.count:,} of each on fresh one-worker"
            " servers:",
            "",
            *table([f"Per {PER:,}", "Gatehouse: store (SQLite pages, by table)",
                    "Gatehouse: process RSS growth", f"{PEER}: live heap growth",
                    f"{PEER}: process RSS growth"], memory_rows(memory)),
        ]
    return "\n".join([*lines, END])


def write_doc(block: str) -> None:
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + block + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measurement")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up per server and endpoint")
    parser.add_argument("--connections", type=int, default=10, help="autocannon connections")
    parser.add_argument("--browsers", type=int, default=8, help="concurrent sign-in browsers")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker processes of each server, one run per value")
    parser.add_argument("--memory", type=int, default=PER,
                        help="journeys and sessions made for the memory figures (0: skip)")
    parser.add_argument("--measures", nargs="+", default=MEASURES, choices=MEASURES,
                        help="what to measure (all of it by default)")
    parser.add_argument("--write-doc", action="store_true",
                        help=f"replace the results block in {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("the benchmarks need two cores: one for the server, one for the load")
    command = shlex.join(["python", "-m", "bench.compare", *sys.argv[1:]])
    started = datetime.datetime.now()
    ensure_peer()
    facts = {**machine(), "argon2id": f"m={OWASP_MEMORY_COST_KIB} KiB, t={OWASP_TIME_COST},"
                                      f" p={OWASP_PARALLELISM}"}
    with tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as workdir:
        all_results = [run_workers(workers, Path(workdir), args) for workers in args.workers]
        memory = measure_memory(Path(workdir), args.memory) if args.memory else None
    block = report(all_results, memory, args, command, facts, started)
    print(block)
    if args.write_doc:
        write_doc(block)


if __name__ == "__main__":
    main()
