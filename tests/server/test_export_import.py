"""`gatehouse export` / `gatehouse import`: moving an embedded store's data into another store
(MongoDB in production), checked first with `--dry-run`, safe to run twice."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import yaml

from store import open_store
from store.records import SessionRecord
from tests.e2e.server import gatehouse

ROOT = Path(__file__).resolve().parents[2]


def config(path: Path, store: str) -> Path:
    path.write_text(yaml.safe_dump({
        "issuer": "http://127.0.0.1:9", "store": store, "flows_file": str(ROOT / "flows.yaml"),
    }))
    return path


def session(session_id: str, expires_at: float) -> SessionRecord:
    return SessionRecord(id=session_id, sid=session_id, subject="u", auth_time=0, amr=["pwd"],
                         acr="urn:gatehouse:loa:1", created_at=0, expires_at=expires_at)


async def test_an_embedded_store_moves_to_another_store(tmp_path: Path, store_url: str) -> None:
    source = config(tmp_path / "source.yaml", f"sqlite:///{tmp_path / 'source.db'}")
    for name in ("alice", "bob"):
        added = gatehouse(source, "users", "add", name, "--email", f"{name}@example.com",
                          "--password-stdin", stdin=f"{name}-password-1\n")
        assert added.returncode == 0, added.stderr
    assert gatehouse(source, "keys", "rotate").returncode == 0
    store = await open_store(f"sqlite:///{tmp_path / 'source.db'}")
    await store.sessions.add(session("live", time.time() + 3600))
    await store.sessions.add(session("gone", time.time() - 1))
    await store.close()

    dump = tmp_path / "dump.jsonl"
    dump.write_text("")
    dump.chmod(0o644)
    exported = gatehouse(source, "export", str(dump))
    assert exported.returncode == 0, exported.stderr
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # private keys inside
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert {line["collection"] for line in lines} >= {"users", "signing_keys", "sessions"}
    assert [d["document"]["id"] for d in lines if d["collection"] == "sessions"] == ["live"]

    target = config(tmp_path / "target.yaml", store_url)
    dry = gatehouse(target, "import", str(dump), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would import" in dry.stdout and "2 users" in dry.stdout
    check = await open_store(store_url)
    assert await check.users.find_by_login("alice") is None  # a dry run stores nothing
    done = gatehouse(target, "import", str(dump))
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout and "2 users" in done.stdout
    alice = await check.users.find_by_login("ALICE@example.com")
    assert alice is not None and alice.password_hash and alice.password_hash.startswith("$argon2id$")
    await check.users.update(alice.model_copy(update={"email": "new@example.com"}))
    again = gatehouse(target, "import", str(dump))  # an old file never undoes later changes
    assert again.returncode == 0, again.stderr
    assert "imported nothing" in again.stdout and "already present" in again.stdout
    assert await check.users.find_by_login("new@example.com") is not None
    source_keys = [json.dumps(d["document"], sort_keys=True) for d in lines
                   if d["collection"] == "signing_keys"]
    assert sorted(json.dumps(k.model_dump(mode="json"), sort_keys=True)
                  for k in await check.keys.all()) == sorted(source_keys)
    assert await check.sessions.get("live", time.time()) is not None
    listed = gatehouse(target, "keys", "list")
    assert listed.returncode == 0 and listed.stdout.count("RS256") >= 2
    await check.close()


async def test_bad_lines_and_taken_usernames_are_reported(tmp_path: Path, store_url: str) -> None:
    target = config(tmp_path / "target.yaml", store_url)
    added = gatehouse(target, "users", "add", "alice", "--password-stdin", stdin="alice-password-1\n")
    assert added.returncode == 0, added.stderr
    user = {"id": "other-id", "username": "ALICE", "created_at": 0}
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join([
        json.dumps({"collection": "users", "document": user}),
        json.dumps({"collection": "nowhere", "document": {}}),
        "{not json",
        json.dumps({"collection": "users", "document": {"id": "x"}}),
        json.dumps({"collection": "users", "document": {**user, "id": "b", "username": "bob"}}),
    ]))
    done = gatehouse(target, "import", str(dump))
    assert done.returncode == 1
    assert "imported 1 users" in done.stdout
    problems = done.stderr.splitlines()
    assert [p.split(":")[0] for p in problems if p.startswith("line")] == [
        "line 1", "line 2", "line 3", "line 4"]
    assert "4 lines not imported" in done.stderr
