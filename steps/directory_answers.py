"""What the `password` step does with a user directory's answers (federation/directory.py): every
call bounded in time, any failure `DirectoryUnavailable`, and the local record of a person the
directory vouches for, created or refreshed from what it says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from federation import (
    AccountBlocked,
    DirectoryUnavailable,
    DirectoryUser,
    PasswordExpired,
    PasswordRefused,
)
from steps.user_directory import RESERVED_CLAIMS, local_user_id
from store import DuplicateError, Store, UserRecord

log = logging.getLogger("gatehouse.directory")

DIRECTORY_TIMEOUT = 10.0  # seconds a directory has for each answer
# What a sign-in copies from the directory to the local record.
SYNCED = {"username", "email", "email_verified", "claims", "groups"}
T = TypeVar("T")


async def local_record(
    store: Store, now: float, name: str, found: DirectoryUser
) -> UserRecord | None:
    """The local record of a person the directory vouched for (or listed, for `gatehouse users
    sync`), created or refreshed from what it says; None when a local account holds their
    username (the local account wins)."""
    user_id = local_user_id(name, found.id)
    email = found.email if found.email and "@" in found.email else None
    holder = await store.users.find_by_login(email) if email else None
    if holder is not None and holder.id != user_id:
        # Another account has this address: never two accounts on one, never merged by it.
        log.warning("user directory %s: %s signs in without the email %s, which account %s"
                    " holds", name, user_id, email, holder.id)
        email = None
    said = UserRecord(
        id=user_id, username=found.username, email=email,
        email_verified=bool(email) and found.email_verified,
        claims={k: v for k, v in found.claims.items() if k not in RESERVED_CLAIMS},
        groups=list(found.groups), created_at=now,
    )
    record = await store.users.get(user_id)
    try:
        if record is None:
            await store.users.add(said)
            log.info("user directory %s: created %s for %r", name,
                     user_id, found.username)
            return said
        record = record.model_copy(update=said.model_dump(include=SYNCED))
        await store.users.update(record)
        return record
    except DuplicateError:
        if record is None and (created := await store.users.get(user_id)) is not None:
            return created  # by a sign-in of the same person that ran alongside this one
        log.warning("user directory %s: %s cannot sign in: the username %r belongs to an"
                    " account here", name, user_id, found.username)
        return None


async def answer(call: Awaitable[T]) -> T:
    """A directory's answer in time; any failure of it is `DirectoryUnavailable`, never a 500
    (what it says of an account, `AccountBlocked` and the like, passes as it is)."""
    try:
        async with asyncio.timeout(DIRECTORY_TIMEOUT):
            return await call
    except (DirectoryUnavailable, AccountBlocked, PasswordExpired, PasswordRefused):
        raise  # what the directory said, as it said it
    except TimeoutError as exc:
        raise DirectoryUnavailable(f"timed out ({DIRECTORY_TIMEOUT:g} s)") from exc
    except Exception as exc:
        raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
