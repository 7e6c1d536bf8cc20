"""`gatehouse users import`: users from another system, in JSON lines or CSV, with their password
hashes as they are; checked first with `--dry-run`, safe to run twice, bad lines reported by
number."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import bcrypt
from click.testing import CliRunner, Result

from server.cli import main
from store import Store, open_store
from store.records import UserRecord
from tests.server.test_export_import import config

T = TypeVar("T")

BCRYPT = bcrypt.hashpw(b"carol-password-1", bcrypt.gensalt(4)).decode()
DJANGO = "pbkdf2_sha256$1000$c2FsdA$" + base64.b64encode(
    hashlib.pbkdf2_hmac("sha256", b"dave-password-1", b"c2FsdA", 1000)
).decode()


def gatehouse(config: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, [*args, "--config", str(config)], input=stdin)


def in_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await open_store(url)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def user(url: str, login: str) -> UserRecord | None:
    return in_store(url, lambda store: store.users.find_by_login(login))


def jsonl(path: Path, *records: dict[str, Any] | str) -> Path:
    path.write_text("".join(
        (r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records
    ))
    return path


def test_json_lines_add_users_once_and_keep_their_hashes(
    tmp_path: Path, store_url: str
) -> None:
    target = config(tmp_path / "gatehouse.yaml", store_url)
    users = jsonl(
        tmp_path / "users.jsonl",
        {"id": 1001, "username": "carol", "email": "Carol@Example.com", "email_verified": True,
         "name": "Carol Old", "given_name": "Carol", "locale": "en-GB", "groups": ["staff", "ops"],
         "address": {"country": "GB"}, "password_hash": BCRYPT},
        "",
        {"username": "dave", "email": "", "password_hash": DJANGO, "phone_number": None},
        {"username": "erin"},  # no password: signs in another way, or resets it
    )

    dry = gatehouse(target, "users", "import", str(users), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout == "would add 3 users; skipped 0 that exist already; refused 0\n"
    assert user(store_url, "carol") is None  # a dry run stores nothing

    done = gatehouse(target, "users", "import", str(users))
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "added 3 users; skipped 0 that exist already; refused 0\n"
    carol = in_store(store_url, lambda store: store.users.get("1001"))  # the old id is the sub
    assert carol is not None and carol.username == "carol"
    assert carol.email == "Carol@Example.com" and carol.email_verified
    assert carol.password_hash == BCRYPT and carol.groups == ["staff", "ops"]
    assert carol.claims == {"name": "Carol Old", "given_name": "Carol", "locale": "en-GB",
                            "address": {"country": "GB"}}
    dave = user(store_url, "dave")
    assert dave is not None and dave.password_hash == DJANGO and dave.email is None
    assert not dave.email_verified and dave.claims == {} and len(dave.id) >= 16
    erin = user(store_url, "erin")
    assert erin is not None and erin.password_hash is None

    changed = carol.model_copy(update={"claims": {"name": "Carol New"}})
    in_store(store_url, lambda store: store.users.update(changed))
    again = gatehouse(target, "users", "import", str(users))
    assert again.exit_code == 0, again.stderr
    assert again.stdout == "added 0 users; skipped 3 that exist already; refused 0\n"
    assert in_store(store_url, lambda store: store.users.get("1001")) == changed  # not overwritten


def test_csv_with_a_header_row(tmp_path: Path, store_url: str) -> None:
    target = config(tmp_path / "gatehouse.yaml", store_url)
    rows = (
        "\ufeffusername, email ,email_verified,groups,name,password_hash,address\r\n"  # Excel's BOM
        f"carol,carol@example.com,TRUE,staff  ops,\"Old, Carol\",{BCRYPT},\"1 Main St\nTown\"\r\n"
        "\r\n"
        f"dave,,false,,,{DJANGO},\r\n"
    )
    (tmp_path / "users.csv").write_text(rows, encoding="utf-8", newline="")
    (tmp_path / "users.txt").write_text(rows, encoding="utf-8", newline="")

    wrong = gatehouse(target, "users", "import", str(tmp_path / "users.txt"), "--dry-run")
    assert wrong.exit_code == 1  # read as JSON lines: every line refused
    dry = gatehouse(target, "users", "import", str(tmp_path / "users.txt"), "--format", "csv",
                    "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith("would add 2 users;")
    done = gatehouse(target, "users", "import", str(tmp_path / "users.csv"))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("added 2 users;")
    carol = user(store_url, "CAROL@example.com")
    assert carol is not None and carol.email_verified and carol.groups == ["staff", "ops"]
    assert carol.claims == {"name": "Old, Carol", "address": {"formatted": "1 Main St\nTown"}}
    assert carol.password_hash == BCRYPT
    dave = user(store_url, "dave")
    assert dave is not None and not dave.email_verified and dave.groups == []
    assert dave.password_hash == DJANGO


def test_refused_lines_are_reported_by_number(tmp_path: Path, store_url: str) -> None:
    target = config(tmp_path / "gatehouse.yaml", store_url)
    added = gatehouse(target, "users", "add", "alice", "--email", "alice@example.com",
                      "--password-stdin", stdin="alice-password-1\n")
    assert added.exit_code == 0, added.stderr
    users = jsonl(
        tmp_path / "users.jsonl",
        {"username": "bob", "password_hash": BCRYPT},
        {"username": "bob@example.com"},
        {"username": "carol", "password_hash": "md5$salt$0123456789abcdef0123456789abcdef"},
        {"username": "dave", "password_hash": "$2b$04$truncated"},
        {"username": "Bob"},
        {"email": "erin@example.com"},
        {"username": "frank", "email": "not an address"},
        {"username": "gina", "preferred_username": "g", "groups": "a b"},
        "{not json",
        "[]",
        {"username": "ALICE2", "email": "ALICE@example.com"},  # exists by email
        {"username": "hank", "id": "sub with spaces"},
        {"username": "ivan", "id": "dir:0123"},  # a directory user's id: never taken over
        {"username": "judy", "password_hash": "$2b$31$" + "a" * 53},  # days to check
    )
    expected_problems = [
        "line 2: username: a username cannot contain @",
        "line 3: password_hash: not a format Gatehouse verifies",
        "line 4: password_hash: not a format Gatehouse verifies",
        "line 5: the same username as line 1",
        "line 6: username: Field required",
        "line 7: email: ",
        "line 8: groups: Input should be a valid list; preferred_username: Extra inputs",
        "line 9: not JSON: ",
        "line 10: not a JSON object",
        "line 12: id: an id is 1 to 255 ASCII letters, digits or signs, without spaces",
        "line 13: id: ids starting with dir: are a user directory's",
        "line 14: password_hash: not a format Gatehouse verifies",
    ]
    for verb, extra in (("would add", ("--dry-run",)), ("added", ())):
        done = gatehouse(target, "users", "import", str(users), *extra)
        assert done.exit_code == 1
        assert done.stdout == f"{verb} 1 users; skipped 1 that exist already; refused 12\n"
        problems = done.stderr.splitlines()
        assert len(problems) == 13 and problems[-1] == "Error: 12 lines not imported"
        for problem, expected in zip(problems, expected_problems, strict=False):
            assert problem.startswith(expected), problem


def test_a_csv_header_with_unknown_columns_reads_nothing(
    tmp_path: Path, store_url: str
) -> None:
    target = config(tmp_path / "gatehouse.yaml", store_url)
    users = tmp_path / "users.csv"
    users.write_text("username,password,shoe_size\ncarol,secret,42\n")
    done = gatehouse(target, "users", "import", str(users))
    assert done.exit_code == 1
    assert done.stdout.startswith("added 0 users;")
    assert done.stderr.startswith(
        "line 1: the header has unknown columns password, shoe_size: nothing read")
    short = tmp_path / "short.csv"
    short.write_text("username,email\ncarol,carol@example.com,extra\n")
    done = gatehouse(target, "users", "import", str(short))
    assert done.exit_code == 1
    assert done.stderr.startswith("line 2: 3 cells, but the header names 2")
