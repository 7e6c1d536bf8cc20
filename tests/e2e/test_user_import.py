"""Users from another system end to end: `gatehouse users import` into a running server's store,
then a code flow through the real pages with the password the old system hashed. The first
sign-in leaves an argon2id hash in the store, and the same password keeps working."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import bcrypt
import pytest

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import RunningServer, gatehouse, server_store
from tests.e2e.test_sign_in import authorization_url, rp_client
from tests.e2e.tokens import password_sign_in


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(5)).decode()


def django_pbkdf2_sha256(password: str) -> str:
    """As Django's PBKDF2PasswordHasher stores it: `pbkdf2_sha256$iterations$salt$base64`."""
    salt, iterations = "hG3zQm8TXaY2bq0PvK1RcJ", 2000
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


async def stored_hash(server: RunningServer, sub: str) -> str | None:
    async with server_store(server) as store:
        user = await store.users.get(sub)
        assert user is not None
        return user.password_hash


@pytest.mark.parametrize(
    ("record", "password"),
    [
        ({"id": "legacy-7", "username": "ivy", "email": "ivy@example.com", "email_verified": True,
          "name": "Ivy Imported", "password_hash": bcrypt_hash("ivy-old-password-1")},
         "ivy-old-password-1"),
        ({"id": "legacy-8", "username": "jack", "name": "Jack Imported",
          "password_hash": django_pbkdf2_sha256("jack-old-password-1")},
         "jack-old-password-1"),
    ],
    ids=["bcrypt", "django-pbkdf2_sha256"],
)
async def test_an_imported_user_signs_in_and_the_hash_becomes_argon2id(
    server: RunningServer, tmp_path: Path, record: dict[str, Any], password: str
) -> None:
    file = tmp_path / "users.jsonl"
    file.write_text(json.dumps(record) + "\n")
    imported = gatehouse(server.config, "users", "import", str(file))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("added 1 users;")
    assert await stored_hash(server, record["id"]) == record["password_hash"]

    first = await password_sign_in(server, record["username"], password)
    assert first["sub"] == record["id"]  # the old system's subject is kept
    assert first["userinfo"]["name"] == record["name"]
    upgraded = await stored_hash(server, record["id"])
    assert upgraded is not None and upgraded.startswith("$argon2id$")

    again = await password_sign_in(server, record.get("email", record["username"]), password)
    assert again["sub"] == record["id"]
    assert await stored_hash(server, record["id"]) == upgraded  # rehashed once, not each time


async def test_a_wrong_password_for_an_imported_hash_is_just_wrong(
    server: RunningServer, browser: FormBrowser, tmp_path: Path
) -> None:
    stored = bcrypt_hash("kate-old-password-1")
    file = tmp_path / "users.jsonl"
    file.write_text(json.dumps({"username": "kate", "password_hash": stored}) + "\n")
    assert gatehouse(server.config, "users", "import", str(file)).returncode == 0
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
        page = await browser.sign_in(url, "kate", "kate-old-password-1" + "x" * 80)  # > 72 bytes
    assert page.status_code == 200 and "Incorrect username or password." in page_text(page)
