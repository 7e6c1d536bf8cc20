"""The repository protocols every store implements, and the `Store` that groups them.

Times are Unix seconds. A document whose `expires_at` has passed is never returned, whether or not
the store has purged it yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from store.documents import Documents
from store.records import (
    AccessTokenRecord,
    AuditRecord,
    ClientRecord,
    CodeRecord,
    ConsentRecord,
    CredentialRecord,
    DeviceApproval,
    DeviceCodeRecord,
    FlowRunRecord,
    GrantRecord,
    InitialAccessTokenRecord,
    LinkedIdentityRecord,
    PushedRequestRecord,
    RefreshTokenRecord,
    RunLogRecord,
    SessionRecord,
    SigningKeyRecord,
    ThrottleRecord,
    UserRecord,
)

T = TypeVar("T")
# Where a page of a list starts: the (order value, id) of the previous page's last document.
Cursor = tuple[Any, str]


class ClientRepository(Protocol):
    async def get(self, client_id: str) -> ClientRecord | None: ...
    async def put(self, client: ClientRecord) -> None:
        """Insert or replace by `client_id`."""

    async def delete(self, client_id: str) -> None: ...

    async def all(self) -> list[ClientRecord]: ...

    async def page(self, limit: int, after: Cursor | None = None) -> list[ClientRecord]:
        """Clients by client_id, after `after` (`cursor`)."""

    def cursor(self, client: ClientRecord) -> Cursor: ...


class UserRepository(Protocol):
    async def get(self, user_id: str) -> UserRecord | None: ...
    async def find_by_login(self, login: str) -> UserRecord | None:
        """A user by username or email, compared case-insensitively."""

    async def add(self, user: UserRecord) -> None:
        """Raises `DuplicateError` when the username or email is taken."""

    async def update(self, user: UserRecord) -> None: ...

    async def delete(self, user_id: str) -> bool: ...

    async def search(
        self, text: str | None, limit: int, after: Cursor | None = None
    ) -> list[UserRecord]:
        """Users whose username, email or name contains `text` (case-insensitively; every user
        when None), newest first, after `after` (`cursor`)."""

    def cursor(self, user: UserRecord) -> Cursor: ...


class CredentialRepository(Protocol):
    async def add(self, credential: CredentialRecord) -> None:
        """Raises `DuplicateError` when the id is taken."""

    async def get(self, credential_id: str) -> CredentialRecord | None: ...
    async def for_user(self, user_id: str) -> list[CredentialRecord]:
        """Oldest first."""

    async def update(self, credential: CredentialRecord) -> None:
        """Store `credential` if it is still at `credential.version`, then bump the version
        (raises `StaleVersionError` otherwise): a TOTP time step or a passkey's signature
        counter moves forward once, whatever the concurrency."""

    async def delete(self, credential_id: str) -> bool:
        """True when this call deleted it (a recovery code is used once)."""


class LinkedIdentityRepository(Protocol):
    async def get(self, provider: str, upstream_subject: str) -> LinkedIdentityRecord | None: ...
    async def add(self, identity: LinkedIdentityRecord) -> None:
        """Raises `DuplicateError` when this upstream account is linked already."""

    async def for_user(self, user_id: str) -> list[LinkedIdentityRecord]:
        """Oldest first."""

    async def touch(self, identity: LinkedIdentityRecord, at: float) -> None:
        """Note a sign-in through it."""

    async def delete(self, identity_id: str) -> bool: ...


class ConsentRepository(Protocol):
    async def get(self, client_id: str, subject: str) -> ConsentRecord | None: ...
    async def put(self, consent: ConsentRecord) -> None:
        """Insert or replace."""

    async def delete(self, client_id: str, subject: str) -> None: ...

    async def for_subject(self, subject: str) -> list[ConsentRecord]:
        """A user's consents, by client id."""


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
    async def for_subject(self, subject: str, now: float) -> list[SessionRecord]: ...

    async def count_for_subject(self, subject: str, now: float) -> int:
        """How many live sessions the user has (without reading them)."""

    async def oldest_for_subject(self, subject: str, now: float, limit: int) -> list[SessionRecord]:
        """The user's `limit` oldest live sessions, oldest first."""


class Redemption(NamedTuple, Generic[T]):
    """A single-use record, and whether this call was the one that used it."""

    record: T
    first: bool


class GrantRepository(Protocol):
    async def add(self, grant: GrantRecord) -> None: ...
    async def get(self, grant_id: str, now: float) -> GrantRecord | None: ...
    async def revoke(self, grant_id: str) -> None:
        """Mark the grant revoked: every code and token issued from it stops working."""

    async def revoke_unstored(self, grant: GrantRecord) -> None:
        """Keep, revoked until it expires, a grant that was never stored because its one token
        carries all of it (client_credentials); a second call changes nothing."""

    async def for_session(self, sid: str) -> list[GrantRecord]:
        """The grants issued in a session."""

    async def revoke_online(self, sid: str) -> None:
        """Revoke the grants of a session that do not include `offline_access` (OIDC Core §11:
        offline access outlives the session)."""

    async def for_subject(self, subject: str, now: float) -> list[GrantRecord]:
        """A user's (or a client's) unexpired, unrevoked grants, oldest first."""

    async def for_client(self, client_id: str, now: float) -> list[GrantRecord]:
        """A client's unexpired, unrevoked stored grants (a client_credentials token's grant is
        not stored), oldest first."""

    async def page_for_subject(
        self, subject: str, now: float, limit: int, after: Cursor | None = None
    ) -> list[GrantRecord]:
        """A user's unexpired grants, revoked ones included, newest first, after `after`."""

    def cursor(self, grant: GrantRecord) -> Cursor: ...


class CodeRepository(Protocol):
    async def add(self, code: CodeRecord) -> None: ...
    async def get(self, code_id: str, now: float) -> CodeRecord | None: ...
    async def redeem(
        self, code_id: str, now: float, client_id: str
    ) -> Redemption[CodeRecord] | None:
        """Mark the code used in one atomic step (of concurrent callers exactly one is `first`).
        None when there is no such unexpired code of `client_id`; another client's code is left
        untouched, so it cannot be burnt by whoever stole it."""


class PushedRequestRepository(Protocol):
    """Authorization requests pushed to the PAR endpoint (RFC 9126), each used once."""

    async def add(self, pushed: PushedRequestRecord) -> None: ...
    async def redeem(
        self, pushed_id: str, now: float, client_id: str
    ) -> Redemption[PushedRequestRecord] | None:
        """As `CodeRepository.redeem`: of concurrent callers exactly one is `first`; None when
        there is no such unexpired request of `client_id`."""


class DeviceCodeRepository(Protocol):
    """Device authorizations (RFC 8628)."""

    async def add(self, record: DeviceCodeRecord) -> None:
        """Raises `DuplicateError` when the user code is taken."""

    async def get(self, device_id: str) -> DeviceCodeRecord | None:
        """By id, expired or not (the token endpoint tells an expired code apart)."""

    async def by_user_code(self, user_code: str, now: float) -> DeviceCodeRecord | None:
        """The unexpired authorization of a (normalized) user code."""

    async def decide(self, device_id: str, approval: DeviceApproval) -> None: ...
    async def polled(self, device_id: str, at: float, interval: int | None = None) -> None:
        """Remember the poll (and a new, longer `interval` after a `slow_down`)."""
    async def redeem(self, device_id: str, now: float, client_id: str) -> DeviceCodeRecord | None:
        """Move it from unused to used in one atomic step; the record when this call did."""


class InitialAccessTokenRepository(Protocol):
    async def add(self, token: InitialAccessTokenRecord) -> None: ...
    async def redeem(
        self, token_id: str, now: float, client_id: str
    ) -> Redemption[InitialAccessTokenRecord] | None:
        """As `CodeRepository.redeem` (`client_id` is "": no client yet)."""


class AccessTokenRepository(Protocol):
    """Reference access tokens (clients with access_token_format: reference)."""

    async def add(self, token: AccessTokenRecord) -> None: ...
    async def get(self, token_id: str, now: float) -> AccessTokenRecord | None: ...


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshTokenRecord) -> None: ...
    async def get(self, token_id: str, now: float) -> RefreshTokenRecord | None: ...
    async def redeem(
        self, token_id: str, now: float, client_id: str
    ) -> Redemption[RefreshTokenRecord] | None:
        """As `CodeRepository.redeem`."""


class KeyRepository(Protocol):
    async def add(self, key: SigningKeyRecord) -> None:
        """Insert, unless a key with this `kid` is already stored."""

    async def all(self) -> list[SigningKeyRecord]:
        """All keys, oldest first."""

    async def retire(self, kid: str, at: float) -> None:
        """Stop publishing the key at `at`."""

    async def seal(self, kid: str, sealed_jwk: str) -> None:
        """Keep the key's JWK as `sealed_jwk` only (a clear copy is dropped)."""


class ReplayCache(Protocol):
    async def first_use(self, key: str, expires_at: float, now: float) -> bool:
        """Remember `key` until `expires_at`; True only the first time it is seen (atomically)."""


class ThrottleRepository(Protocol):
    async def get(self, key: str, now: float) -> ThrottleRecord | None: ...
    async def add(self, record: ThrottleRecord, now: float) -> None:
        """Insert, in place of an expired record of the same key; raises `DuplicateError` when
        another request added it first."""

    async def save(self, record: ThrottleRecord) -> None:
        """Versioned, as `FlowRunRepository.save`: a failure is counted once per request."""

    async def delete(self, key: str, version: int | None = None) -> bool:
        """Delete a key (only at `version`, when given); True when this call deleted it."""

    async def clear_account(self, account: str) -> int:
        """Delete every key of a user's account (every kind and address); how many there were."""

    async def for_account(self, account: str, now: float) -> list[ThrottleRecord]:
        """The unexpired keys of a user's account (every kind and address)."""


class SecretRepository(Protocol):
    async def get_or_create(self, name: str, value: str) -> str:
        """The stored value for `name`, storing `value` first if there is none."""

    async def get(self, name: str) -> str | None: ...
    async def replace(self, name: str, value: str) -> None:
        """Change the value of an existing secret (to seal it)."""


class AuditRepository(Protocol):
    async def add(self, record: AuditRecord) -> None: ...
    async def for_subject(self, subject: str, now: float, limit: int = 100) -> list[AuditRecord]:
        """A subject's unexpired events, newest first."""

    async def search(
        self,
        now: float,
        limit: int,
        equal: Mapping[str, str] | None = None,
        since: float | None = None,
        until: float | None = None,
        after: Cursor | None = None,
    ) -> list[AuditRecord]:
        """Unexpired events whose `subject`, `kind` or `client_id` equal `equal`'s, at `since`
        or later and before `until`, newest first, after `after` (`cursor`)."""

    def cursor(self, record: AuditRecord) -> Cursor: ...


class RunLogRepository(Protocol):
    async def add(self, record: RunLogRecord) -> None: ...
    async def get(self, run_id: str, now: float) -> RunLogRecord | None: ...
    async def recent(
        self, flow: str, now: float, limit: int, after: Cursor | None = None
    ) -> list[RunLogRecord]:
        """The runs of `flow` that finished, latest first, after `after` (`cursor`)."""

    def cursor(self, record: RunLogRecord) -> Cursor: ...


class Store(Protocol):
    """Everything the server persists."""

    clients: ClientRepository
    users: UserRepository
    credentials: CredentialRepository
    identities: LinkedIdentityRepository
    consents: ConsentRepository
    runs: FlowRunRepository
    sessions: SessionRepository
    grants: GrantRepository
    codes: CodeRepository
    pushed_requests: PushedRequestRepository
    device_codes: DeviceCodeRepository
    initial_access_tokens: InitialAccessTokenRepository
    refresh_tokens: RefreshTokenRepository
    access_tokens: AccessTokenRepository
    keys: KeyRepository
    secrets: SecretRepository
    replay: ReplayCache
    throttles: ThrottleRepository
    audit: AuditRepository
    run_logs: RunLogRepository

    @property
    def collections(self) -> Mapping[str, Documents[Any]]:
        """Every collection by name (export, import)."""

    async def purge_expired(self, now: float, batch: int = 2000) -> int:
        """Delete expired documents, `batch` per statement, yielding between batches; how many.
        Reads already ignore them; this only frees space."""

    async def compact(self) -> None:
        """Give freed space back to the file system, where the backend does not by itself."""

    async def backup(self, target: str) -> None:
        """An online, consistent copy of the store at `target`; `NotImplementedError` where the
        database server's own tools do it."""

    async def ping(self) -> None:
        """Return once the store answers; `StoreUnavailableError` when it cannot be reached."""

    async def close(self) -> None: ...
