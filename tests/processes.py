"""Stopping a process the tests or benchmarks started."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx2


def stop(process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `seconds`."""
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(seconds)


def wait_answering(
    process: subprocess.Popen[bytes], url: str, log: Path, what: str, seconds: float = 20.0
) -> None:
    """Return once `url` answers 200; else stop the process and raise RuntimeError with the
    tail of its `log` (it exited, or did not answer within `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{tail(log)}")
        try:
            if httpx2.get(url, timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"{what} did not answer within {seconds:.0f} s:\n{tail(log)}")


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
