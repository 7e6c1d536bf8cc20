"""MongoDB servers for the tests: secantusdb (a MongoDB wire-protocol server on WiredTiger, from
PyPI) started on a free loopback port, and a real MongoDB when `GATEHOUSE_TEST_MONGODB_URI` names
one. Never a mock: the store talks to a server over the wire."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from tests.ports import free_port

REAL_MONGODB_ENV = "GATEHOUSE_TEST_MONGODB_URI"


@dataclass
class MongoServer:
    """A server the tests may create databases on: `url(name)` names one database."""

    label: str
    base_url: str
    version: str
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: str | None = None) -> str:
        name = database or f"gatehouse_test_{uuid.uuid4().hex[:12]}"
        base, _, query = self.base_url.partition("?")
        return f"{base.rstrip('/')}/{name}" + (f"?{query}" if query else "")

    def drop(self, url: str) -> None:
        with MongoClient(url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(client.get_default_database())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def server_version(url: str) -> str:
    with MongoClient(url, serverSelectionTimeoutMS=1000) as client:
        info = client.server_info()
    return str(info.get("secantusVersion") or info["version"])


def start_secantusdb(
    log: Path, port: int | None = None, storage: Path | None = None
) -> MongoServer:
    """`secantusd-py` on a free port (or `port`), keeping its data in memory (or in `storage`,
    where a restart finds it again); ready within seconds."""
    port = port or free_port()
    command = [
        str(Path(sys.executable).parent / "secantusd-py"),
        "--host", "127.0.0.1", "--port", str(port),
        "--storage-path", str(storage) if storage else ":memory:",
    ]
    process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"mongodb://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"secantusd-py exited: {log.read_text()}")
        try:
            return MongoServer("secantusdb", url, server_version(url), process)
        except PyMongoError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"secantusd-py did not start: {log.read_text()}")


def mongo_backends() -> list[str]:
    """`secantusdb` always; `mongodb` when GATEHOUSE_TEST_MONGODB_URI is set."""
    return ["secantusdb"] + (["mongodb"] if os.environ.get(REAL_MONGODB_ENV) else [])


def real_mongodb() -> MongoServer | None:
    url = os.environ.get(REAL_MONGODB_ENV)
    return MongoServer("mongodb", url, server_version(url)) if url else None
