"""Audit events streamed out (`audit_stream`): each one a JSON line in a file of its own, readable
by its owner only, from every worker, while `audit_retention: 0` keeps none in the store."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

from store import open_store
from tests.e2e.server import ALICE, start_server
from tests.observe.support import a_sign_in_and_a_service_token, wait_for


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def both_tokens(trail: Path) -> list[str] | None:
    """The kinds streamed, once the public client's and the service's tokens are among them."""
    kinds = [e["kind"] for e in events(trail)]
    return kinds if kinds.count("token_issued") >= 2 else None


async def test_events_go_to_the_stream_and_none_to_the_store(tmp_path: Path) -> None:
    trail = tmp_path / "audit.jsonl"
    server = start_server(tmp_path, audit_stream=str(trail), audit_retention=0,
                          serve_args=("--workers", "2"))
    try:
        await a_sign_in_and_a_service_token(server.issuer)
        kinds = wait_for(lambda: both_tokens(trail))
    finally:
        server.stop()
    assert kinds.count("sign_in") == 1, kinds
    streamed = events(trail)
    [signed_in] = [e for e in streamed if e["kind"] == "sign_in"]
    assert signed_in["address"] == "127.0.0.1" and signed_in["request_id"]
    assert signed_in["subject"] and abs(signed_in["at"] - time.time()) < 120
    [service] = [e for e in streamed if e["details"].get("grant_type") == "client_credentials"]
    assert service["client_id"] == "service"
    assert stat.S_IMODE(trail.stat().st_mode) == 0o600
    store = await open_store(f"sqlite:///{tmp_path / 'gatehouse.db'}")
    try:
        alice = await store.users.find_by_login(ALICE[0])
        assert alice is not None
        assert await store.audit.for_subject(alice.id, time.time()) == []
    finally:
        await store.close()
