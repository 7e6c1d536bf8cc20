"""`gatehouse serve --workers N`: N processes, each listening on the port with a socket of its own
(`SO_REUSEPORT`), so the kernel spreads connections over them evenly.

With one socket shared by every worker (uvicorn's own way), whichever worker wakes first accepts
every connection waiting: a few long-lived keep-alive connections (a load balancer's pool) can
all land on one worker while the others idle. The supervisor here only starts the workers,
passes SIGHUP on (flows reload), restarts a worker that dies of anything but a clean shutdown,
and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

log = logging.getLogger("gatehouse.workers")

STOP_GRACE = 5  # seconds a worker has past its graceful shutdown, before it is killed
QUICK_DEATH_SECONDS = 5  # a worker that dies sooner after starting counts towards giving up
MAX_QUICK_DEATHS = 5


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that other workers may bind too (the kernel balances)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def run_worker(app: str, options: dict[str, Any]) -> None:
    """One worker process: uvicorn serving `app` (an app factory) on its own socket."""
    import uvicorn

    config = uvicorn.Config(app, factory=True, **options)
    uvicorn.Server(config).run(sockets=[listening_socket(config.host, config.port)])


class Supervisor:
    def __init__(self, workers: int, app: str, options: dict[str, Any]) -> None:
        self.count, self.app, self.options = workers, app, options
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[tuple[BaseProcess, float]] = []
        self.stop = threading.Event()
        self.quick_deaths = 0

    def _start(self) -> tuple[BaseProcess, float]:
        process = self.context.Process(
            target=run_worker, args=(self.app, self.options), name="gatehouse-worker"
        )
        process.start()
        return process, time.monotonic()

    def _signals(self) -> None:
        def stop(signum: int, frame: object) -> None:
            self.stop.set()

        def reload(signum: int, frame: object) -> None:
            for process, _ in self.processes:
                if process.pid is not None and process.is_alive():
                    os.kill(process.pid, signal.SIGHUP)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGHUP, reload)

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM (0), or until workers keep dying at start-up (1)."""
        self._signals()
        self.processes = [self._start() for _ in range(self.count)]
        while not self.stop.wait(0.5):
            for index, (process, started) in enumerate(self.processes):
                if process.is_alive() or process.exitcode == 0 or self.stop.is_set():
                    continue  # exit code 0: shutting down on a signal of its own (Ctrl+C)
                log.error("worker %s exited with %s; starting another", process.pid,
                          process.exitcode)
                if time.monotonic() - started < QUICK_DEATH_SECONDS:
                    self.quick_deaths += 1
                    if self.quick_deaths >= MAX_QUICK_DEATHS:
                        log.error("workers keep dying at start-up: stopping")
                        self.stop.set()
                        break
                self.processes[index] = self._start()
            if all(p.exitcode == 0 for p, _ in self.processes):
                break  # every worker shut down cleanly (a signal to the process group)
        self._stop_all()
        return 1 if self.quick_deaths >= MAX_QUICK_DEATHS else 0

    def _stop_all(self) -> None:
        for process, _ in self.processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        graceful = float(self.options.get("timeout_graceful_shutdown") or 0)
        deadline = time.monotonic() + graceful + STOP_GRACE
        for process, _ in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
