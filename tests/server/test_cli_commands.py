"""The `gatehouse` command says what is true: one password policy, its version, lists with
headers, the keys' lifecycle, and an unknown user in `audit`."""

from __future__ import annotations

import calendar
import json
import time
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import key_rows, main
from server.settings import load_settings
from store.records import SigningKeyRecord
from tests.e2e.server import gatehouse
from tests.server.test_settings_and_cli import _config


@pytest.mark.parametrize(("password", "refusal"), [
    ("password123", "That password is too common."),  # 8 characters were enough before
    ("alice-is-me-1", None),
    ("short-pw1", "That password is too short."),
])
def test_users_add_applies_the_policy_of_the_sign_up_and_reset_pages(
    tmp_path: Path, password: str, refusal: str | None
) -> None:
    added = gatehouse(_config(tmp_path), "users", "add", "alice", "--password-stdin",
                      stdin=password + "\n")
    if refusal is None:
        assert added.returncode == 0, added.stderr
    else:
        assert added.returncode == 1 and refusal in added.stderr
        assert "at least" not in added.stderr and "10 to 256 characters" in added.stderr


def test_users_add_refuses_the_username_or_email_as_password(tmp_path: Path) -> None:
    config = _config(tmp_path)
    same = gatehouse(config, "users", "add", "margaret-hamilton", "--password-stdin",
                     stdin="margaret-hamilton\n")
    assert same.returncode == 1 and "cannot be your username or email" in same.stderr
    email = gatehouse(config, "users", "add", "maggie", "--email", "margaret.h@example.com",
                      "--password-stdin", stdin="margaret.h\n")
    assert email.returncode == 1 and "cannot be your username or email" in email.stderr


def test_version() -> None:
    shown = CliRunner().invoke(main, ["--version"])
    assert shown.exit_code == 0 and shown.output == f"gatehouse, version {version('gatehouse')}\n"


def test_keys_list_has_a_header_and_says_which_key_signs_until_when(tmp_path: Path) -> None:
    config = _config(tmp_path)
    before = gatehouse(config, "keys", "list")
    assert before.returncode == 0, before.stderr
    header, *rows = before.stdout.splitlines()
    assert header.split() == ["KID", "ALG", "STATE", "SIGNS", "FROM", "SIGNS", "UNTIL",
                              "PUBLISHED", "UNTIL"]
    first = {cells[1]: cells for cells in (row.split() for row in rows)}
    assert sorted(first) == ["ES256", "RS256"]
    assert first["RS256"][2] == "signing" and first["RS256"][3] != "-"  # since it was created
    rotated = gatehouse(config, "keys", "rotate", "--alg", "RS256", "--activate-in", "900")
    assert rotated.returncode == 0, rotated.stderr
    after = gatehouse(config, "keys", "list").stdout.splitlines()[1:]
    rs256 = [row.split() for row in after if row.split()[1] == "RS256"]
    old = next(cells for cells in rs256 if cells[0] == first["RS256"][0])
    new = next(cells for cells in rs256 if cells[0] != first["RS256"][0])
    assert old[2] == "signing" and new[2] == "next"  # the old key signs until the new one does
    # SIGNS UNTIL of the old key is SIGNS FROM of the new one; it stays published 1 h after.
    assert old[6:9] == new[3:6] and old[9:12] != ["-"]
    assert _at(old[9:11]) - _at(new[3:5]) == 3600  # id_token_lifetime, the longest token
    assert f"signs from {' '.join(new[3:6])}" in rotated.stdout


def _at(cells: list[str]) -> int:
    return calendar.timegm(time.strptime(" ".join(cells), "%Y-%m-%d %H:%M:%S"))


def test_key_rows_follow_a_key_from_first_to_retired() -> None:
    def key(kid: str, created: float, activates: float, retires: float | None) -> SigningKeyRecord:
        return SigningKeyRecord(kid=kid, alg="RS256", private_jwk={}, created_at=created,
                                activates_at=activates, retires_at=retires)

    records = [key("k1", 100, 0, 2000), key("k2", 1000, 1900, 5000), key("k3", 4000, 4900, None)]
    states = {row[0]: row[2] for row in key_rows(records, now=1500)}
    assert states == {"k1": "signing", "k2": "next", "k3": "next"}
    rows = {row[0]: row for row in key_rows(records, now=1950)}
    assert [rows[k][2] for k in ("k1", "k2", "k3")] == ["retiring", "signing", "next"]
    assert rows["k1"][3] == "1970-01-01 00:01:40 UTC"  # a first key signs from its creation
    assert rows["k1"][4] == rows["k2"][3] == "1970-01-01 00:31:40 UTC"
    assert rows["k2"][4] == "1970-01-01 01:21:40 UTC" and rows["k3"][4] == "-"
    assert {row[0]: row[2] for row in key_rows(records, now=4950)}["k1"] == "retired"


def test_audit_of_nobody_says_so_and_fails(tmp_path: Path) -> None:
    config = _config(tmp_path)
    nobody = gatehouse(config, "audit", "nobody")
    assert nobody.returncode == 1 and "no user 'nobody'" in nobody.stderr
    added = gatehouse(config, "users", "add", "carol", "--password-stdin",
                      stdin="carol-password-1\n")
    assert added.returncode == 0, added.stderr
    created = gatehouse(config, "audit", "carol")  # only the operator's adding her
    assert created.returncode == 0 and created.stderr == ""
    [line] = created.stdout.splitlines()
    assert json.loads(line)["kind"] == "user_created"


def test_compact_purges_and_compacts_the_store(tmp_path: Path) -> None:
    config = _config(tmp_path)
    added = gatehouse(config, "users", "add", "zoe", "--password-stdin", stdin="zoe-password-1\n")
    assert added.returncode == 0, added.stderr
    compacted = gatehouse(config, "compact")
    assert compacted.returncode == 0, compacted.stderr
    assert compacted.stdout.startswith("purged ") and "the store is compacted" in compacted.stdout
    assert gatehouse(config, "users", "show", "zoe").returncode == 0  # what lives stays


def test_init_writes_a_starter_with_its_own_secrets_and_never_overwrites(tmp_path: Path) -> None:
    made = CliRunner().invoke(main, ["init", str(tmp_path / "new"), "--issuer",
                                     "https://login.example.org"])
    assert made.exit_code == 0, made.output
    settings = load_settings(tmp_path / "new" / "gatehouse.yaml")
    assert settings.issuer == "https://login.example.org" and len(settings.credential_keys) == 1
    assert settings.metrics_token and not settings.demo and settings.clients == []
    root = Path(__file__).resolve().parents[2]
    assert (tmp_path / "new" / "flows.yaml").read_text() == (root / "flows.yaml").read_text()
    other = CliRunner().invoke(main, ["init", str(tmp_path / "other")])
    assert load_settings(tmp_path / "other" / "gatehouse.yaml").credential_keys != (
        settings.credential_keys)  # generated for each installation
    again = CliRunner().invoke(main, ["init", str(tmp_path / "new")])
    assert again.exit_code == 1 and "left as they are" in again.output
    assert other.exit_code == 0
