"""Password hashes from other systems verify as they are, and are replaced with argon2id at the
next sign-in. Vectors are made independently of the verifier where a maker exists: the bcrypt
package, hashlib as Django and the modular-crypt format compute PBKDF2, argon2-cffi, Werkzeug."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator

import bcrypt
import pytest
from argon2 import Type
from argon2.low_level import hash_secret
from passlib.hash import pbkdf2_sha512
from werkzeug.security import check_password_hash, generate_password_hash

from engine.testing import FlowTester
from steps.password_formats import format_of, verify_foreign, within_limits
from steps.password_hashing import PasswordHashing

PASSWORD = "correct horse battery staple é"
SECRET = PASSWORD.encode()


def django_pbkdf2_sha256(password: bytes, iterations: int = 1000) -> str:
    salt = "xRKbRbMaSGr5aQvbT3Aq1b"
    digest = hashlib.pbkdf2_hmac("sha256", password, salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


def modular_pbkdf2_sha256(password: bytes, rounds: int = 1000) -> str:
    """`$pbkdf2-sha256$rounds$salt$checksum`, both in base64 with `.` for `+` and no padding."""

    def ab64(data: bytes) -> str:
        return base64.b64encode(data).decode().rstrip("=").replace("+", ".")

    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password, salt, rounds)
    return f"$pbkdf2-sha256${rounds}${ab64(salt)}${ab64(digest)}"


def bcrypt_hash(password: bytes, prefix: bytes = b"2b") -> str:
    return bcrypt.hashpw(password, bcrypt.gensalt(4, prefix)).decode()


def argon2(password: bytes, variant: Type, memory_cost: int = 8) -> str:
    return hash_secret(password, os.urandom(16), time_cost=1, memory_cost=memory_cost,
                       parallelism=1, hash_len=32, type=variant).decode()


VECTORS = {
    "bcrypt $2b$": ("bcrypt", bcrypt_hash(SECRET)),
    "bcrypt $2a$": ("bcrypt", bcrypt_hash(SECRET, b"2a")),
    "bcrypt $2y$ (PHP)": ("bcrypt", "$2y$" + bcrypt_hash(SECRET)[4:]),  # $2b$ under PHP's name
    "pbkdf2-sha256": ("pbkdf2_sha256", modular_pbkdf2_sha256(SECRET)),
    "pbkdf2-sha512": ("pbkdf2_sha512", pbkdf2_sha512.using(rounds=1000).hash(PASSWORD)),
    "django pbkdf2_sha256": ("django_pbkdf2_sha256", django_pbkdf2_sha256(SECRET)),
    "django bcrypt_sha256": (
        "django_bcrypt_sha256",
        "bcrypt_sha256$" + bcrypt_hash(hashlib.sha256(SECRET).hexdigest().encode()),
    ),
    "django bcrypt": ("django_bcrypt", "bcrypt$" + bcrypt_hash(SECRET)),
    "django argon2": ("django_argon2", "argon2" + argon2(SECRET, Type.ID)),
    "argon2i": ("argon2", argon2(SECRET, Type.I)),
    "argon2d": ("argon2", argon2(SECRET, Type.D)),
    "argon2id, other parameters": ("argon2", argon2(SECRET, Type.ID, memory_cost=16)),
    "werkzeug pbkdf2": ("werkzeug_pbkdf2", generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")),
    "werkzeug scrypt": ("werkzeug_scrypt", generate_password_hash(PASSWORD, "scrypt:1024:8:1")),
}
MALFORMED = [
    "", "plain text", "$2b$04$tooshort", "$2x$04$" + "a" * 53, "$pbkdf2-sha256$many$salt$sum",
    "pbkdf2_sha256$1000$salt$not-base64", "bcrypt$junk", "bcrypt_sha256$$2b$04$short",
    "argon2$argon2id$junk", "$argon2id$v=19$m=8,t=1,p=1$!!!!$????", "$argon2id$é",
    "pbkdf2:sha256:1000$salt$nothex", "pbkdf2:md5:1000$salt$" + "0" * 32, "scrypt:3:8:1$s$" + "0" * 128,
    "$1$saltsalt$md5cryptisnotaccepted", "sha1$salt$" + "0" * 40,
]


@pytest.fixture
async def hashing() -> AsyncIterator[PasswordHashing]:
    hashing = PasswordHashing(threads=1, time_cost=1, memory_cost=8, parallelism=1)
    yield hashing
    hashing.close()


@pytest.mark.parametrize("name", VECTORS)
async def test_a_foreign_hash_verifies_and_needs_a_rehash(
    hashing: PasswordHashing, name: str
) -> None:
    expected_format, stored = VECTORS[name]
    assert format_of(stored) == expected_format
    assert await hashing.verify(stored, PASSWORD)
    assert not await hashing.verify(stored, PASSWORD + "!")
    assert not await hashing.verify(stored, "")
    assert hashing.needs_rehash(stored)


def test_the_werkzeug_vectors_are_werkzeugs() -> None:
    for name in ("werkzeug pbkdf2", "werkzeug scrypt"):
        assert check_password_hash(VECTORS[name][1], PASSWORD)


async def test_our_argon2id_is_kept_and_what_we_hash_is_argon2id(
    hashing: PasswordHashing,
) -> None:
    ours = await hashing.hash(PASSWORD)
    assert ours.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert format_of(ours) == "argon2"
    assert await hashing.verify(ours, PASSWORD)
    assert not hashing.needs_rehash(ours)
    assert hashing.needs_rehash(argon2(SECRET, Type.ID, memory_cost=16))  # weaker or not: ours


@pytest.mark.parametrize("stored", MALFORMED)
async def test_an_unknown_or_malformed_hash_verifies_false(
    hashing: PasswordHashing, stored: str
) -> None:
    assert format_of(stored) is None
    assert not await hashing.verify(stored, PASSWORD)
    assert not verify_foreign(stored, PASSWORD)


async def test_bcrypt_reads_the_first_72_bytes_as_its_makers_did(hashing: PasswordHashing) -> None:
    exactly_72 = "x" * 72
    stored = bcrypt_hash(exactly_72.encode())
    assert await hashing.verify(stored, exactly_72)
    assert await hashing.verify(stored, exactly_72 + "y")  # what the old system checked too
    assert not await hashing.verify(stored, "x" * 71)
    assert not await hashing.verify(stored, "é" * 1024)
    assert not await hashing.verify(bcrypt_hash(b"a"), "a\x00b")  # NUL: the library refuses


async def test_an_unknown_user_still_costs_one_argon2_verify(hashing: PasswordHashing) -> None:
    assert not await hashing.verify(None, PASSWORD)
    assert not await hashing.verify("", PASSWORD)


FLOWS = """\
flows:
  default:
    steps:
      password: {type: password, on: {success: done}}
"""


async def test_the_password_step_replaces_a_bcrypt_hash_with_argon2id() -> None:
    async with FlowTester(FLOWS) as tester:
        user = await tester.add_user("carol")
        user.password_hash = bcrypt_hash(SECRET)
        await tester.store.users.update(user)
        for _ in range(2):  # the second sign-in checks the argon2id hash that replaced it
            await tester.start()
            await tester.submit(login="carol", password=PASSWORD)
            assert tester.result == "done" and tester.subject == user.id
            stored = await tester.store.users.get(user.id)
            assert stored is not None and stored.password_hash is not None
            assert stored.password_hash.startswith("$argon2id$")
            assert not tester.passwords.needs_rehash(stored.password_hash)


# Hashes that name an absurd cost: checking any of them would take minutes or gigabytes.
COSTLY = [
    "$2b$31$" + "a" * 53,
    "pbkdf2_sha256$999999999$salt$" + "A" * 43 + "=",
    "$pbkdf2-sha256$999999999$c2FsdA$" + "A" * 43,
    "pbkdf2:sha256:999999999$salt$" + "0" * 64,
    "scrypt:67108864:99:99$salt$" + "0" * 128,
    "$argon2id$v=19$m=4194304,t=1000,p=1$c2FsdHNhbHQ$" + "A" * 43,
    "argon2$argon2id$v=19$m=4194304,t=1000,p=1$c2FsdHNhbHQ$" + "A" * 43,
]


@pytest.mark.parametrize("stored", COSTLY)
async def test_a_hash_of_absurd_cost_is_refused_and_never_checked(
    hashing: PasswordHashing, stored: str
) -> None:
    assert format_of(stored) is None and not within_limits(stored)
    assert not await hashing.verify(stored, PASSWORD)  # at once: the test would hang otherwise


def test_the_usual_costs_are_within_the_limits() -> None:
    assert within_limits(django_pbkdf2_sha256(b"x", 1_200_000))  # Django 6's default
    assert within_limits(bcrypt_hash(b"x"))
    assert within_limits(argon2(b"x", Type.ID, memory_cost=65536))
    assert within_limits(generate_password_hash("x"))  # Werkzeug's scrypt default
