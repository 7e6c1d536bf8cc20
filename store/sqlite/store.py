"""The SQLite store: one connection in autocommit mode, so each statement is its own transaction.

WAL mode and a busy timeout let several server processes share the file.
"""

from __future__ import annotations

from typing import Generic

import aiosqlite
from pydantic import BaseModel

from store.errors import StaleVersionError
from store.records import (
    AccessTokenRecord,
    ClientRecord,
    CodeRecord,
    ConsentRecord,
    CredentialRecord,
    FlowRunRecord,
    GrantRecord,
    RefreshTokenRecord,
    SeenRecord,
    SessionRecord,
    SigningKeyRecord,
    UserRecord,
)
from store.repositories import (
    AccessTokenRepository,
    ClientRepository,
    CodeRepository,
    ConsentRepository,
    CredentialRepository,
    FlowRunRepository,
    GrantRepository,
    KeyRepository,
    Redemption,
    RefreshTokenRepository,
    ReplayCache,
    SecretRepository,
    SessionRepository,
    UserRepository,
)
from store.sqlite.documents import D, DocumentTable


class SqliteClients:
    def __init__(self, table: DocumentTable[ClientRecord]) -> None:
        self.table = table

    async def get(self, client_id: str) -> ClientRecord | None:
        return await self.table.get(client_id)

    async def put(self, client: ClientRecord) -> None:
        await self.table.upsert(client)

    async def all(self) -> list[ClientRecord]:
        return await self.table.all()


class SqliteUsers:
    def __init__(self, table: DocumentTable[UserRecord]) -> None:
        self.table = table

    async def get(self, user_id: str) -> UserRecord | None:
        return await self.table.get(user_id)

    async def find_by_login(self, login: str) -> UserRecord | None:
        column = "email" if "@" in login else "username"
        return await self.table.find_one(column, login)

    async def add(self, user: UserRecord) -> None:
        await self.table.insert(user)

    async def update(self, user: UserRecord) -> None:
        await self.table.replace(user)


class SqliteCredentials:
    def __init__(self, table: DocumentTable[CredentialRecord]) -> None:
        self.table = table

    async def add(self, credential: CredentialRecord) -> None:
        await self.table.insert(credential)

    async def for_user(self, user_id: str) -> list[CredentialRecord]:
        found = await self.table.find_all_json("user_id", user_id)
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def get(self, credential_id: str) -> CredentialRecord | None:
        return await self.table.get(credential_id)

    async def update(self, credential: CredentialRecord) -> None:
        await self.table.replace_versioned(credential)

    async def delete(self, credential_id: str) -> bool:
        return await self.table.delete(credential_id)


class SqliteConsents:
    def __init__(self, table: DocumentTable[ConsentRecord]) -> None:
        self.table = table

    async def get(self, client_id: str, subject: str) -> ConsentRecord | None:
        return await self.table.get(ConsentRecord.key(client_id, subject))

    async def put(self, consent: ConsentRecord) -> None:
        await self.table.upsert(consent)

    async def delete(self, client_id: str, subject: str) -> None:
        await self.table.delete(ConsentRecord.key(client_id, subject))


class SqliteRuns:
    def __init__(self, table: DocumentTable[FlowRunRecord]) -> None:
        self.table = table

    async def add(self, run: FlowRunRecord) -> None:
        await self.table.insert(run)

    async def get(self, run_id: str, now: float) -> FlowRunRecord | None:
        return await self.table.get(run_id, now)

    async def save(self, run: FlowRunRecord) -> None:
        await self.table.replace_versioned(run)

    async def delete(self, run: FlowRunRecord) -> None:
        if not await self.table.delete(run.id, run.version):
            raise StaleVersionError(f"run {run.id} changed since version {run.version}")


class SqliteSessions:
    def __init__(self, table: DocumentTable[SessionRecord]) -> None:
        self.table = table

    async def add(self, session: SessionRecord) -> None:
        await self.table.insert(session)

    async def get(self, session_id: str, now: float) -> SessionRecord | None:
        return await self.table.get(session_id, now)

    async def delete(self, session_id: str) -> None:
        await self.table.delete(session_id)


class SqliteGrants:
    def __init__(self, table: DocumentTable[GrantRecord]) -> None:
        self.table = table

    async def add(self, grant: GrantRecord) -> None:
        await self.table.insert(grant)

    async def get(self, grant_id: str, now: float) -> GrantRecord | None:
        return await self.table.get(grant_id, now)

    async def revoke(self, grant_id: str) -> None:
        await self.table.set_flag(grant_id, "revoked", True)

    async def for_session(self, sid: str) -> list[GrantRecord]:
        return await self.table.find_all_json("sid", sid)

    async def revoke_online(self, sid: str) -> None:
        await self.table.db.execute(
            "UPDATE grants SET data = json_set(data, '$.revoked', json('true'))"
            " WHERE json_extract(data, '$.sid') = ?"
            " AND instr(' ' || json_extract(data, '$.scope') || ' ', ' offline_access ') = 0",
            [sid],
        )


class SqliteSingleUse(Generic[D]):
    """Codes and refresh tokens: added once, redeemed once (then kept, to recognise replays)."""

    def __init__(self, table: DocumentTable[D]) -> None:
        self.table = table

    async def add(self, record: D) -> None:
        await self.table.insert(record)

    async def get(self, record_id: str, now: float) -> D | None:
        return await self.table.get(record_id, now)

    async def redeem(self, record_id: str, now: float, client_id: str) -> Redemption[D] | None:
        return await self.table.claim(record_id, now, client_id)


class SqliteAccessTokens:
    def __init__(self, table: DocumentTable[AccessTokenRecord]) -> None:
        self.table = table

    async def add(self, token: AccessTokenRecord) -> None:
        await self.table.insert(token)

    async def get(self, token_id: str, now: float) -> AccessTokenRecord | None:
        return await self.table.get(token_id, now)


class SqliteKeys:
    def __init__(self, table: DocumentTable[SigningKeyRecord]) -> None:
        self.table = table

    async def add(self, key: SigningKeyRecord) -> None:
        await self.table.insert_if_absent(key)

    async def all(self) -> list[SigningKeyRecord]:
        keys = await self.table.all()
        return sorted(keys, key=lambda k: (k.created_at, k.kid))

    async def retire(self, kid: str, at: float) -> None:
        await self.table.set_flag(kid, "retires_at", at)


class SqliteReplayCache:
    def __init__(self, table: DocumentTable[SeenRecord]) -> None:
        self.table = table

    async def first_use(self, key: str, expires_at: float, now: float) -> bool:
        await self.table.db.execute(
            "DELETE FROM replay_cache WHERE id = ? AND expires_at <= ?", [key, now]
        )
        return await self.table.insert_if_absent(SeenRecord(id=key, expires_at=expires_at))


class SecretRecord(BaseModel):
    id: str
    value: str


class SqliteSecrets:
    def __init__(self, table: DocumentTable[SecretRecord]) -> None:
        self.table = table

    async def get_or_create(self, name: str, value: str) -> str:
        await self.table.insert_if_absent(SecretRecord(id=name, value=value))
        stored = await self.table.get(name)
        assert stored is not None
        return stored.value


class SqliteStore:
    """The embedded default store."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._tables: list[DocumentTable[BaseModel]] = []
        self.clients: ClientRepository = SqliteClients(
            self._table("clients", ClientRecord, id_field="client_id")
        )
        self.users: UserRepository = SqliteUsers(
            self._table("users", UserRecord, unique=("username", "email"))
        )
        self.credentials: CredentialRepository = SqliteCredentials(
            self._table("credentials", CredentialRecord, indexed=("user_id",))
        )
        self.consents: ConsentRepository = SqliteConsents(self._table("consents", ConsentRecord))
        self.runs: FlowRunRepository = SqliteRuns(self._table("flow_runs", FlowRunRecord))
        self.sessions: SessionRepository = SqliteSessions(self._table("sessions", SessionRecord))
        self.grants: GrantRepository = SqliteGrants(
            self._table("grants", GrantRecord, indexed=("sid",))
        )
        self.codes: CodeRepository = SqliteSingleUse(self._table("codes", CodeRecord))
        self.access_tokens: AccessTokenRepository = SqliteAccessTokens(
            self._table("access_tokens", AccessTokenRecord)
        )
        self.refresh_tokens: RefreshTokenRepository = SqliteSingleUse(
            self._table("refresh_tokens", RefreshTokenRecord)
        )
        self.keys: KeyRepository = SqliteKeys(
            self._table("signing_keys", SigningKeyRecord, id_field="kid")
        )
        self.secrets: SecretRepository = SqliteSecrets(self._table("secrets", SecretRecord))
        self.replay: ReplayCache = SqliteReplayCache(self._table("replay_cache", SeenRecord))

    def _table(
        self,
        name: str,
        model: type[D],
        id_field: str = "id",
        unique: tuple[str, ...] = (),
        indexed: tuple[str, ...] = (),
    ) -> DocumentTable[D]:
        table = DocumentTable(self.db, name, model, id_field, unique, indexed)
        self._tables.append(table)  # type: ignore[arg-type]
        return table

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute("PRAGMA synchronous=NORMAL")
        store = cls(db)
        for table in store._tables:
            await table.create()
        return store

    async def purge_expired(self, now: float) -> None:
        """Drop expired documents (reads already ignore them; this only frees space)."""
        for table in self._tables:
            await table.purge_expired(now)

    async def close(self) -> None:
        await self.db.close()
