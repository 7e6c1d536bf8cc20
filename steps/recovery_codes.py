"""Recovery codes, shared by `recovery_codes_setup` and `recovery_code`.

A code is 12 characters from `secrets`, drawn from an alphabet without the look-alikes 0/O/1/I/L
and shown as `xxxx-xxxx-xxxx`. Each code is its own credential (kind `recovery_codes`) whose id is
the SHA-256 of `user_id:code`: the store never holds a code, a typed code is found with one `get`,
and `delete` uses it up (of two requests racing with one code, only one deletes it).
"""

from __future__ import annotations

import secrets

from core import digest
from store import CredentialRecord, Store

KIND = "recovery_codes"
NAME = "Recovery code"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: 12 of them carry about 59 bits
LENGTH = 12
GROUP = 4
DEFAULT_COUNT = 10
MAX_INPUT = 64  # characters of typed input looked at (a code with spaces and dashes fits)


def new_code() -> str:
    """One code, grouped for reading: `ABCD-EFGH-JKMN`."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, LENGTH, GROUP))


def generate(count: int = DEFAULT_COUNT) -> list[str]:
    """`count` distinct codes."""
    codes: list[str] = []
    while len(codes) < count:
        code = new_code()
        if code not in codes:
            codes.append(code)
    return codes


def normalize(typed: str) -> str:
    """A code as typed, upper-cased, without the spaces and dashes people add or copy."""
    return "".join(typed[:MAX_INPUT].upper().split()).replace("-", "")


def credential_id(user_id: str, code: str) -> str:
    """The id of the credential that stands for `code` (typed or shown) of `user_id`."""
    return digest(f"{user_id}:{normalize(code)}")


async def stored_ids(store: Store, user_id: str) -> set[str]:
    """The ids of the user's unused recovery codes."""
    return {c.id for c in await store.credentials.for_user(user_id) if c.kind == KIND}


async def codes_left(store: Store, user_id: str) -> int:
    """How many unused recovery codes the user has."""
    return len(await stored_ids(store, user_id))


async def store_ids(store: Store, user_id: str, ids: list[str], now: float) -> None:
    """Make the codes whose credential ids are `ids` the user's recovery codes: their earlier
    ones stop working."""
    for old in await stored_ids(store, user_id):
        await store.credentials.delete(old)
    for code_id in ids:
        await store.credentials.add(
            CredentialRecord(
                id=code_id, user_id=user_id, kind=KIND, name=NAME, data={}, created_at=now,
            )
        )


async def replace_codes(
    store: Store, user_id: str, now: float, count: int = DEFAULT_COUNT
) -> list[str]:
    """Store `count` new codes in place of the user's earlier ones; the codes, to show once."""
    codes = generate(count)
    await store_ids(store, user_id, [credential_id(user_id, code) for code in codes], now)
    return codes


async def use_code(store: Store, user_id: str, typed: str) -> bool:
    """Use up `typed` if it is one of the user's unused codes. True for one caller only."""
    code = normalize(typed)
    if len(code) != LENGTH:
        return False
    found = await store.credentials.get(credential_id(user_id, code))
    if found is None or found.kind != KIND or found.user_id != user_id:
        return False
    return await store.credentials.delete(found.id)
