"""The repository protocols every store implements, and the `Store` that groups them.

Times are Unix seconds. A document whose `expires_at` has passed is never returned, whether or not
the store has purged it yet.
"""

from __future__ import annotations

from typing import Protocol

from store.records import (
    ClientRecord,
    CodeRecord,
    FlowRunRecord,
    SessionRecord,
    SigningKeyRecord,
    UserRecord,
)


class ClientRepository(Protocol):
    async def get(self, client_id: str) -> ClientRecord | None: ...
    async def put(self, client: ClientRecord) -> None:
        """Insert or replace by `client_id`."""

    async def all(self) -> list[ClientRecord]: ...


class UserRepository(Protocol):
    async def get(self, user_id: str) -> UserRecord | None: ...
    async def find_by_login(self, login: str) -> UserRecord | None:
        """A user by username or email, compared case-insensitively."""

    async def add(self, user: UserRecord) -> None:
        """Raises `DuplicateError` when the username or email is taken."""

    async def update(self, user: UserRecord) -> None: ...


class FlowRunRepository(Protocol):
    async def add(self, run: FlowRunRecord) -> None: ...
    async def get(self, run_id: str, now: float) -> FlowRunRecord | None: ...
    async def save(self, run: FlowRunRecord) -> None:
        """Store `run` if it is still at `run.version`, then bump the version.

        Raises `StaleVersionError` when another request saved it first.
        """

    async def delete(self, run: FlowRunRecord) -> None:
        """Delete `run` if it is still at `run.version`; else raise `StaleVersionError`."""


class SessionRepository(Protocol):
    async def add(self, session: SessionRecord) -> None: ...
    async def get(self, session_id: str, now: float) -> SessionRecord | None: ...
    async def delete(self, session_id: str) -> None: ...


class CodeRepository(Protocol):
    async def add(self, code: CodeRecord) -> None: ...
    async def consume(self, code_id: str, now: float) -> CodeRecord | None:
        """Remove and return the code in one atomic step: of concurrent callers, one wins."""


class KeyRepository(Protocol):
    async def add(self, key: SigningKeyRecord) -> None:
        """Insert, unless a key with this `kid` is already stored."""

    async def all(self) -> list[SigningKeyRecord]:
        """All keys, oldest first."""


class SecretRepository(Protocol):
    async def get_or_create(self, name: str, value: str) -> str:
        """The stored value for `name`, storing `value` first if there is none."""


class Store(Protocol):
    """Everything the server persists."""

    clients: ClientRepository
    users: UserRepository
    runs: FlowRunRepository
    sessions: SessionRepository
    codes: CodeRepository
    keys: KeyRepository
    secrets: SecretRepository

    async def purge_expired(self, now: float) -> None:
        """Delete expired documents. Reads already ignore them; this only frees space."""

    async def close(self) -> None: ...
