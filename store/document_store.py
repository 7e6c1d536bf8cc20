"""The repositories, written once over `Documents`: each backend supplies the collections.

Every store therefore answers the repository protocols the same way; tests/store runs one
contract suite against each backend.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Generic

from pydantic import ValidationError

from store.documents import D, Documents, PageQuery
from store.errors import StaleVersionError
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
    SecretRecord,
    SeenRecord,
    SessionRecord,
    SigningKeyRecord,
    ThrottleRecord,
    UserRecord,
)
from store.repositories import (
    AccessTokenRepository,
    AuditRepository,
    ClientRepository,
    CodeRepository,
    ConsentRepository,
    CredentialRepository,
    Cursor,
    DeviceCodeRepository,
    FlowRunRepository,
    GrantRepository,
    InitialAccessTokenRepository,
    KeyRepository,
    LinkedIdentityRepository,
    PushedRequestRepository,
    Redemption,
    RefreshTokenRepository,
    ReplayCache,
    RunLogRepository,
    SecretRepository,
    SessionRepository,
    ThrottleRepository,
    UserRepository,
)

CLIENT_CACHE_SECONDS = 30.0
CLIENT_CACHE_SIZE = 1000
PURGE_BATCH = 500  # expired documents deleted per statement (a few milliseconds of write lock)


class Clients:
    """Clients come from the config, which every process reads at start-up: a process keeps the
    records it read for `CLIENT_CACHE_SECONDS`, so the hot paths (every flow page, every token)
    skip a store round trip. Only clients found are kept, at most `CLIENT_CACHE_SIZE` (the
    least recently read go first: self-registered clients can be many)."""

    def __init__(self, docs: Documents[ClientRecord]) -> None:
        self.docs = docs
        self._read: dict[str, tuple[float, ClientRecord]] = {}

    async def get(self, client_id: str) -> ClientRecord | None:
        now = time.monotonic()
        kept = self._read.get(client_id)
        if kept is None or now - kept[0] >= CLIENT_CACHE_SECONDS:
            found = await self.docs.get(client_id)
            if found is None:
                return None
            self._read.pop(client_id, None)  # re-read: the most recent again
            kept = self._read[client_id] = (now, found)
            if len(self._read) > CLIENT_CACHE_SIZE:
                del self._read[next(iter(self._read))]
        return kept[1].model_copy()

    async def put(self, client: ClientRecord) -> None:
        await self.docs.upsert(client)
        self._read.pop(client.client_id, None)

    async def delete(self, client_id: str) -> None:
        await self.docs.delete(client_id)
        self._read.pop(client_id, None)

    async def all(self) -> list[ClientRecord]:
        return sorted(await self.docs.all(), key=lambda c: c.client_id)

    async def page(self, limit: int, after: Cursor | None = None) -> list[ClientRecord]:
        return await self.docs.page(
            PageQuery(order="client_id", limit=limit, after=after, ascending=True)
        )

    def cursor(self, client: ClientRecord) -> Cursor:
        return (client.client_id, client.client_id)


class Users:
    def __init__(self, docs: Documents[UserRecord]) -> None:
        self.docs = docs

    async def get(self, user_id: str) -> UserRecord | None:
        return await self.docs.get(user_id)

    async def find_by_login(self, login: str) -> UserRecord | None:
        return await self.docs.find_one("email" if "@" in login else "username", login)

    async def add(self, user: UserRecord) -> None:
        await self.docs.insert(user)

    async def update(self, user: UserRecord) -> None:
        await self.docs.replace(user)

    async def delete(self, user_id: str) -> bool:
        return await self.docs.delete(user_id)

    async def search(
        self, text: str | None, limit: int, after: Cursor | None = None
    ) -> list[UserRecord]:
        return await self.docs.page(PageQuery(
            order="created_at", limit=limit, text=text or None,
            text_fields=("username", "email", "claims.name"), after=after,
        ))

    def cursor(self, user: UserRecord) -> Cursor:
        return (user.created_at, user.id)


class Credentials:
    def __init__(self, docs: Documents[CredentialRecord]) -> None:
        self.docs = docs

    async def add(self, credential: CredentialRecord) -> None:
        await self.docs.insert(credential)

    async def get(self, credential_id: str) -> CredentialRecord | None:
        return await self.docs.get(credential_id)

    async def for_user(self, user_id: str) -> list[CredentialRecord]:
        found = await self.docs.find_all("user_id", user_id)
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def update(self, credential: CredentialRecord) -> None:
        await self.docs.replace_versioned(credential)

    async def delete(self, credential_id: str) -> bool:
        return await self.docs.delete(credential_id)


class LinkedIdentities:
    def __init__(self, docs: Documents[LinkedIdentityRecord]) -> None:
        self.docs = docs

    async def get(self, provider: str, upstream_subject: str) -> LinkedIdentityRecord | None:
        return await self.docs.get(LinkedIdentityRecord.key(provider, upstream_subject))

    async def add(self, identity: LinkedIdentityRecord) -> None:
        await self.docs.insert(identity)

    async def for_user(self, user_id: str) -> list[LinkedIdentityRecord]:
        found = await self.docs.find_all("user_id", user_id)
        return sorted(found, key=lambda i: (i.linked_at, i.id))

    async def touch(self, identity: LinkedIdentityRecord, at: float) -> None:
        await self.docs.set_field(identity.id, "last_used_at", at)

    async def delete(self, identity_id: str) -> bool:
        return await self.docs.delete(identity_id)


class Consents:
    def __init__(self, docs: Documents[ConsentRecord]) -> None:
        self.docs = docs

    async def get(self, client_id: str, subject: str) -> ConsentRecord | None:
        return await self.docs.get(ConsentRecord.key(client_id, subject))

    async def put(self, consent: ConsentRecord) -> None:
        await self.docs.upsert(consent)

    async def delete(self, client_id: str, subject: str) -> None:
        await self.docs.delete(ConsentRecord.key(client_id, subject))

    async def for_subject(self, subject: str) -> list[ConsentRecord]:
        found = await self.docs.find_all("subject", subject)
        return sorted(found, key=lambda c: c.client_id)


class Expiring(Generic[D]):
    """Documents added once and read until they expire (sessions, reference access tokens)."""

    def __init__(self, docs: Documents[D]) -> None:
        self.docs = docs

    async def add(self, record: D) -> None:
        await self.docs.insert(record)

    async def get(self, record_id: str, now: float) -> D | None:
        return await self.docs.get(record_id, now)


class Sessions(Expiring[SessionRecord]):
    async def delete(self, session_id: str) -> None:
        await self.docs.delete(session_id)

    async def for_subject(self, subject: str, now: float) -> list[SessionRecord]:
        """The user's live sessions, oldest first."""
        found = [s for s in await self.docs.find_all("subject", subject) if s.expires_at > now]
        return sorted(found, key=lambda s: s.created_at)

    async def count_for_subject(self, subject: str, now: float) -> int:
        return await self.docs.count("subject", subject, now)

    async def oldest_for_subject(self, subject: str, now: float, limit: int) -> list[SessionRecord]:
        return await self.docs.page(PageQuery(
            order="created_at", limit=limit, equal={"subject": subject}, now=now, ascending=True
        ))


class Runs(Expiring[FlowRunRecord]):
    async def get(self, record_id: str, now: float) -> FlowRunRecord | None:
        try:
            return await self.docs.get(record_id, now)
        except ValidationError:
            return None  # written in an older shape (before an upgrade): as good as expired

    async def save(self, run: FlowRunRecord) -> None:
        await self.docs.replace_versioned(run)

    async def delete(self, run: FlowRunRecord) -> None:
        if not await self.docs.delete(run.id, run.version):
            raise StaleVersionError(f"run {run.id} changed since version {run.version}")


class Throttles:
    def __init__(self, docs: Documents[ThrottleRecord]) -> None:
        self.docs = docs

    async def get(self, key: str, now: float) -> ThrottleRecord | None:
        return await self.docs.get(key, now)

    async def add(self, record: ThrottleRecord, now: float) -> None:
        await self.docs.delete_expired(record.id, now)
        await self.docs.insert(record)

    async def save(self, record: ThrottleRecord) -> None:
        await self.docs.replace_versioned(record)

    async def delete(self, key: str, version: int | None = None) -> bool:
        return await self.docs.delete(key, version)

    async def clear_account(self, account: str) -> int:
        keys = await self.docs.find_all("account", account)
        return sum([await self.docs.delete(key.id) for key in keys])

    async def for_account(self, account: str, now: float) -> list[ThrottleRecord]:
        return [k for k in await self.docs.find_all("account", account) if k.expires_at > now]


class Grants(Expiring[GrantRecord]):
    async def revoke(self, grant_id: str) -> None:
        await self.docs.set_field(grant_id, "revoked", True)

    async def revoke_unstored(self, grant: GrantRecord) -> None:
        await self.docs.insert_if_absent(grant.model_copy(update={"revoked": True}))

    async def for_session(self, sid: str) -> list[GrantRecord]:
        return await self.docs.find_all("sid", sid)

    async def revoke_online(self, sid: str) -> None:
        for grant in await self.for_session(sid):
            if "offline_access" not in grant.scopes:
                await self.revoke(grant.id)

    async def for_subject(self, subject: str, now: float) -> list[GrantRecord]:
        return self._standing(await self.docs.find_all("subject", subject), now)

    async def for_client(self, client_id: str, now: float) -> list[GrantRecord]:
        return self._standing(await self.docs.find_all("client_id", client_id), now)

    async def page_for_subject(
        self, subject: str, now: float, limit: int, after: Cursor | None = None
    ) -> list[GrantRecord]:
        return await self.docs.page(PageQuery(
            order="created_at", limit=limit, equal={"subject": subject}, after=after, now=now
        ))

    def cursor(self, grant: GrantRecord) -> Cursor:
        return (grant.created_at, grant.id)

    @staticmethod
    def _standing(grants: list[GrantRecord], now: float) -> list[GrantRecord]:
        found = [g for g in grants if g.expires_at > now and not g.revoked]
        return sorted(found, key=lambda g: (g.created_at, g.id))


class SingleUse(Expiring[D]):
    """Codes and refresh tokens: added once, redeemed once (then kept, to recognise replays)."""

    async def redeem(self, record_id: str, now: float, client_id: str) -> Redemption[D] | None:
        claimed = await self.docs.claim(record_id, now, client_id)
        if claimed is not None:
            return Redemption(claimed, True)
        again = await self.docs.get(record_id, now)
        if again is None or getattr(again, "client_id", None) != client_id:
            return None  # another client's record is not even said to be used
        return Redemption(again, False)


class DeviceCodes:
    def __init__(self, docs: Documents[DeviceCodeRecord]) -> None:
        self.docs = docs

    async def add(self, record: DeviceCodeRecord) -> None:
        await self.docs.insert(record)

    async def get(self, device_id: str) -> DeviceCodeRecord | None:
        return await self.docs.get(device_id)

    async def by_user_code(self, user_code: str, now: float) -> DeviceCodeRecord | None:
        found = await self.docs.find_one("user_code", user_code)
        return found if found is not None and found.expires_at > now else None

    async def decide(self, device_id: str, approval: DeviceApproval) -> None:
        await self.docs.set_field(device_id, "approval", approval.model_dump())

    async def polled(self, device_id: str, at: float, interval: int | None = None) -> None:
        await self.docs.set_field(device_id, "last_polled_at", at)
        if interval is not None:
            await self.docs.set_field(device_id, "interval", interval)

    async def redeem(self, device_id: str, now: float, client_id: str) -> DeviceCodeRecord | None:
        return await self.docs.claim(device_id, now, client_id)


class Keys:
    def __init__(self, docs: Documents[SigningKeyRecord]) -> None:
        self.docs = docs

    async def add(self, key: SigningKeyRecord) -> None:
        await self.docs.insert_if_absent(key)

    async def all(self) -> list[SigningKeyRecord]:
        return sorted(await self.docs.all(), key=lambda k: (k.created_at, k.kid))

    async def retire(self, kid: str, at: float) -> None:
        await self.docs.set_field(kid, "retires_at", at)

    async def seal(self, kid: str, sealed_jwk: str) -> None:
        # Field by field, never a whole replace, so a concurrent `retire` is not undone; sealed
        # first, so a crash in between leaves a key that still opens.
        await self.docs.set_field(kid, "sealed_jwk", sealed_jwk)
        await self.docs.set_field(kid, "private_jwk", None)


class Replay:
    def __init__(self, docs: Documents[SeenRecord]) -> None:
        self.docs = docs

    async def first_use(self, key: str, expires_at: float, now: float) -> bool:
        await self.docs.delete_expired(key, now)
        return await self.docs.insert_if_absent(SeenRecord(id=key, expires_at=expires_at))


class Secrets:
    def __init__(self, docs: Documents[SecretRecord]) -> None:
        self.docs = docs

    async def get_or_create(self, name: str, value: str) -> str:
        await self.docs.insert_if_absent(SecretRecord(id=name, value=value))
        stored = await self.docs.get(name)
        assert stored is not None
        return stored.value

    async def get(self, name: str) -> str | None:
        stored = await self.docs.get(name)
        return None if stored is None else stored.value

    async def replace(self, name: str, value: str) -> None:
        await self.docs.set_field(name, "value", value)


class Audit:
    """Security events, each added once and kept until its retention ends."""

    def __init__(self, docs: Documents[AuditRecord]) -> None:
        self.docs = docs

    async def add(self, record: AuditRecord) -> None:
        await self.docs.insert(record)

    async def for_subject(self, subject: str, now: float, limit: int = 100) -> list[AuditRecord]:
        return await self.docs.find_newest("subject", subject, "at", limit, now)

    async def search(
        self,
        now: float,
        limit: int,
        equal: Mapping[str, str] | None = None,
        since: float | None = None,
        until: float | None = None,
        after: Cursor | None = None,
    ) -> list[AuditRecord]:
        for name in equal or {}:
            if name not in ("subject", "kind", "client_id"):
                raise ValueError(f"audit events are not filtered by {name}")
        return await self.docs.page(PageQuery(
            order="at", limit=limit, equal=equal or {}, since=since, until=until, after=after,
            now=now,
        ))

    def cursor(self, record: AuditRecord) -> Cursor:
        return (record.at, record.id)


class RunLogs(Expiring[RunLogRecord]):
    async def recent(
        self, flow: str, now: float, limit: int, after: Cursor | None = None
    ) -> list[RunLogRecord]:
        return await self.docs.page(PageQuery(
            order="finished_at", limit=limit, equal={"flow": flow}, after=after, now=now
        ))

    def cursor(self, record: RunLogRecord) -> Cursor:
        return (record.finished_at, record.id)


class DocumentStore(ABC):
    """A `Store` over one backend's collections. `collections` names them all (export, import,
    purge)."""

    def __init__(self) -> None:
        self.collections: dict[str, Documents[Any]] = {}
        self.clients: ClientRepository = Clients(
            self._add("clients", ClientRecord, id_field="client_id")
        )
        self.users: UserRepository = Users(
            self._add("users", UserRecord, unique=("username", "email"))
        )
        self.credentials: CredentialRepository = Credentials(
            self._add("credentials", CredentialRecord, indexed=("user_id",))
        )
        self.identities: LinkedIdentityRepository = LinkedIdentities(
            self._add("linked_identities", LinkedIdentityRecord, indexed=("user_id",))
        )
        self.consents: ConsentRepository = Consents(
            self._add("consents", ConsentRecord, indexed=("subject",))
        )
        self.runs: FlowRunRepository = Runs(self._add("flow_runs", FlowRunRecord))
        self.sessions: SessionRepository = Sessions(
            self._add("sessions", SessionRecord, indexed=("subject",),
                      ordered=(("subject", "created_at"),))
        )
        self.grants: GrantRepository = Grants(
            self._add("grants", GrantRecord, indexed=("sid", "subject", "client_id"),
                      ordered=(("subject", "created_at"),))
        )
        self.codes: CodeRepository = SingleUse(self._add("codes", CodeRecord))
        self.pushed_requests: PushedRequestRepository = SingleUse(
            self._add("pushed_requests", PushedRequestRecord)
        )
        self.device_codes: DeviceCodeRepository = DeviceCodes(
            self._add("device_codes", DeviceCodeRecord, unique=("user_code",))
        )
        self.initial_access_tokens: InitialAccessTokenRepository = SingleUse(
            self._add("initial_access_tokens", InitialAccessTokenRecord)
        )
        self.access_tokens: AccessTokenRepository = Expiring(
            self._add("access_tokens", AccessTokenRecord)
        )
        self.refresh_tokens: RefreshTokenRepository = SingleUse(
            self._add("refresh_tokens", RefreshTokenRecord)
        )
        self.keys: KeyRepository = Keys(self._add("signing_keys", SigningKeyRecord, id_field="kid"))
        self.secrets: SecretRepository = Secrets(self._add("secrets", SecretRecord))
        self.replay: ReplayCache = Replay(self._add("replay_cache", SeenRecord))
        self.throttles: ThrottleRepository = Throttles(
            self._add("throttles", ThrottleRecord, indexed=("account",))
        )
        self.audit: AuditRepository = Audit(
            self._add("audit_events", AuditRecord, indexed=("at",), ordered=(
                ("subject", "at"), ("kind", "at"), ("client_id", "at"),
            ))
        )
        self.run_logs: RunLogRepository = RunLogs(
            self._add("run_logs", RunLogRecord, ordered=(("flow", "finished_at"),))
        )

    def _add(
        self,
        name: str,
        model: type[D],
        id_field: str = "id",
        unique: tuple[str, ...] = (),
        indexed: tuple[str, ...] = (),
        ordered: tuple[tuple[str, str], ...] = (),
    ) -> Documents[D]:
        docs = self.collection(name, model, id_field, unique, indexed, ordered)
        self.collections[name] = docs
        return docs

    @abstractmethod
    def collection(
        self,
        name: str,
        model: type[D],
        id_field: str,
        unique: tuple[str, ...],
        indexed: tuple[str, ...],
        ordered: tuple[tuple[str, str], ...],
    ) -> Documents[D]:
        """This backend's collection of `model` documents; `ordered` lists (field, order) pairs
        to index for `find_newest`."""

    async def purge_expired(self, now: float, batch: int = PURGE_BATCH) -> int:
        """Drop expired documents (reads already ignore them; this only frees space), `batch` at
        a time. After each batch it pauses as long as the batch took, so that requests' reads and
        writes, queued behind it on the store's connection, wait for one short batch at most and
        the purge takes at most half the store's time. How many were dropped."""
        dropped = 0
        for docs in self.collections.values():
            while True:
                began = time.monotonic()
                deleted = await docs.purge_expired(now, batch)
                dropped += deleted
                await asyncio.sleep(time.monotonic() - began)
                if deleted < batch:
                    break
        return dropped

    async def compact(self) -> None:  # noqa: B027  # a backend that needs it overrides it
        """Nothing to do where the backend reuses freed space (MongoDB's WiredTiger)."""

    async def backup(self, target: str) -> None:
        """An online, consistent copy of the whole store at `target` (a new file). Only the
        embedded store can: a database server has its own tools (docs/deploy.md)."""
        raise NotImplementedError("this store is backed up with its server's own tools")

    @abstractmethod
    async def ping(self) -> None:
        """Return once the store answers; `StoreUnavailableError` when it cannot be reached."""

    @abstractmethod
    async def close(self) -> None: ...
