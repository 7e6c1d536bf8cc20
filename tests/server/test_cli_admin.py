"""The CLI's administration commands, over a real store: users (list, show, disable, enable,
delete, set-password, reset-mfa, unlock) and store clients (add, remove, rotate-secret), with
tables under headers, `--json`, audit records naming the operator, and one-line failures."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from server.cli import main
from server.settings import load_settings
from store import CredentialRecord, SessionRecord, ThrottleRecord, open_store
from tests.server.test_settings_and_cli import _config

PASSWORD = "a-fine-password-1"


def run(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, [args[0], args[1], "--config", str(config), *args[2:]],
                              input=stdin)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def in_store(config: Path, work: Any) -> Any:
    async def go() -> Any:
        store = await open_store(load_settings(config).store)
        try:
            return await work(store)
        finally:
            await store.close()
    return asyncio.run(go())


def add(config: Path, username: str, *extra: str) -> str:
    added = as_json(run(config, "users", "add", username, "--password-stdin", "--json", *extra,
                        stdin=PASSWORD + "\n"))
    return str(added["id"])


def test_users_list_and_show_have_headers_and_json(tmp_path: Path) -> None:
    config = _config(tmp_path)
    sub = add(config, "ann", "--email", "ann@example.com", "--name", "Ann Example", "--group", "admins")
    add(config, "ben")
    listed = run(config, "users", "list")
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["USERNAME", "EMAIL", "NAME", "GROUPS", "STATUS", "SUB"]
    assert [row.split()[0] for row in rows] == ["ben", "ann"]  # newest first
    assert header.index("SUB") == rows[1].index(sub)  # aligned columns
    found = as_json(run(config, "users", "list", "--search", "example", "--json"))["items"]
    assert [(u["username"], u["groups"], u["name"]) for u in found] == [("ann", ["admins"], "Ann Example")]

    shown = run(config, "users", "show", "ann@example.com")
    assert shown.stdout.splitlines()[0].split() == ["FIELD", "VALUE"]
    assert f"sub             {sub}" in shown.stdout and "password        set" in shown.stdout
    detail = as_json(run(config, "users", "show", sub, "--json"))
    assert detail["username"] == "ann" and detail["sessions"] == 0 and detail["disabled"] is False


def test_disable_ends_sessions_enable_reset_mfa_and_unlock(tmp_path: Path) -> None:
    config = _config(tmp_path)
    sub = add(config, "cat")
    now = time.time()

    async def seed(store: Any) -> None:
        await store.sessions.add(SessionRecord(
            id="s-digest", sid="sid-1", subject=sub, auth_time=now, amr=["pwd"],
            acr="urn:gatehouse:loa:1", created_at=now, expires_at=now + 3600))
        await store.credentials.add(CredentialRecord(
            id="totp-1", user_id=sub, kind="totp", name="Phone", data={}, created_at=now))
        await store.throttles.add(ThrottleRecord(
            id=f"password:account:{sub}", account=sub, failures=10, lockouts=1,
            blocked_until=now + 600, expires_at=now + 3600), now)

    in_store(config, seed)
    assert "blocked" in run(config, "users", "list").stdout
    disabled = run(config, "users", "disable", "cat")
    assert disabled.exit_code == 0 and disabled.stdout.startswith("cat: disabled")
    assert in_store(config, lambda store: store.sessions.for_subject(sub, time.time())) == []
    assert as_json(run(config, "users", "show", "cat", "--json"))["disabled"] is True
    assert as_json(run(config, "users", "enable", "cat", "--json"))["disabled"] is False

    reset = run(config, "users", "reset-mfa", "cat")
    assert reset.exit_code == 0 and reset.stdout.strip().endswith("(1)")
    assert in_store(config, lambda store: store.credentials.for_user(sub)) == []
    unlocked = run(config, "users", "unlock", "cat")
    assert unlocked.exit_code == 0 and unlocked.stdout.strip().endswith("(1)")
    assert as_json(run(config, "users", "show", "cat", "--json"))["blocked_until"] is None

    events = in_store(config, lambda store: store.audit.for_subject(sub, time.time()))
    kinds = {event.kind: event.details.get("by", "") for event in events}
    assert {"user_disabled", "session_ended", "user_enabled", "mfa_changed", "unlocked"} <= set(kinds)
    assert all(by.startswith("cli:") for kind, by in kinds.items() if kind != "user_created")


def test_set_password_applies_the_policy_and_delete_asks_first(tmp_path: Path) -> None:
    config = _config(tmp_path)
    add(config, "dan")
    short = run(config, "users", "set-password", "dan", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1
    assert short.stderr.startswith("Error: That password is too short.") and short.stderr.count("\n") == 1
    changed = run(config, "users", "set-password", "dan", "--password-stdin", stdin="another-fine-one-2\n")
    assert changed.exit_code == 0 and changed.stdout == "dan: password set\n"

    kept = run(config, "users", "delete", "dan", stdin="n\n")
    assert kept.exit_code != 0 and as_json(run(config, "users", "show", "dan", "--json"))
    deleted = run(config, "users", "delete", "dan", "--yes")
    assert deleted.exit_code == 0 and deleted.stdout.startswith("deleted dan")
    gone = run(config, "users", "show", "dan")
    assert gone.exit_code == 1 and gone.stderr == "Error: no user 'dan'\n"


def test_store_clients_add_rotate_remove_and_config_clients_stay(tmp_path: Path) -> None:
    config = _config(tmp_path)
    added = as_json(run(config, "clients", "add", "svc", "--grant-type", "client_credentials",
                        "--scope", "api:read", "--name", "Service", "--json"))
    first = added["client_secret"]
    assert added["source"] == "admin" and len(first) >= 43
    listed = run(config, "clients", "list").stdout.splitlines()
    assert [row.split()[:2] for row in listed[1:]] == [["app", "gatehouse.yaml"], ["svc", "admin"]]
    rotated = as_json(run(config, "clients", "rotate-secret", "svc", "--json"))
    assert rotated["client_secret"] not in (None, first)

    config_client = run(config, "clients", "remove", "app")
    assert config_client.exit_code == 1
    assert config_client.stderr.startswith("Error: no client") or "gatehouse.yaml" in config_client.stderr
    bad = run(config, "clients", "add", "web", "--redirect-uri", "https://w.example/cb#frag")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: redirect_uris")
    assert bad.stderr.count("\n") == 1
    assert run(config, "clients", "remove", "svc").exit_code == 0
    assert [c["client_id"] for c in as_json(run(config, "clients", "list", "--json"))["items"]] == ["app"]


def test_a_store_that_cannot_open_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text(f"issuer: http://127.0.0.1:9\nstore: sqlite:///{tmp_path}/missing/dir/g.db\n")
    failed = run(config, "users", "list")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("Error: ") and failed.stderr.count("\n") == 1
    assert "Traceback" not in failed.stderr
