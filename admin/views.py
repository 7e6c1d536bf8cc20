"""Store records as the admin API shows them (admin/models.py)."""

from __future__ import annotations

from admin import models
from admin.clients import all_clients
from admin.flows import users_of
from admin.keys import key_state
from oidc import Provider
from store import (
    AuditRecord,
    ClientRecord,
    ConsentRecord,
    CredentialRecord,
    GrantRecord,
    RunLogRecord,
    SessionRecord,
    SigningKeyRecord,
    UserRecord,
)

HIDDEN_CLIENT_FIELDS = frozenset({
    "client_id", "client_name", "source", "client_secret_sha256", "registration_token_sha256",
})


def user(record: UserRecord) -> models.User:
    name = record.claims.get("name")
    return models.User(
        id=record.id, username=record.username, email=record.email,
        email_verified=record.email_verified, name=name if isinstance(name, str) else None,
        groups=record.groups, claims=record.claims, has_password=record.password_hash is not None,
        in_directory=record.in_directory, disabled=record.disabled,
        disabled_at=record.disabled_at, created_at=record.created_at,
    )


def credential(record: CredentialRecord) -> models.Credential:
    return models.Credential(id=record.id, kind=record.kind, name=record.name,
                             created_at=record.created_at, last_used_at=record.last_used_at)


async def user_detail(provider: Provider, record: UserRecord) -> models.UserDetail:
    store, now = provider.store, provider.clock()
    blocked = [
        t.blocked_until for t in await store.throttles.for_account(record.id, now)
        if t.blocked_until > now
    ]
    return models.UserDetail(
        **user(record).model_dump(),
        credentials=[credential(c) for c in await store.credentials.for_user(record.id)],
        linked_identities=[i.provider for i in await store.identities.for_user(record.id)],
        blocked_until=max(blocked) if blocked else None,
    )


def session(record: SessionRecord) -> models.Session:
    return models.Session(
        sid=record.sid, created_at=record.created_at, auth_time=record.auth_time,
        expires_at=record.expires_at, amr=record.amr, acr=record.acr,
        user_agent=record.user_agent, address=record.address,
    )


def consent(record: ConsentRecord) -> models.Consent:
    return models.Consent(client_id=record.client_id, scopes=record.scopes,
                          updated_at=record.updated_at)


def grant(record: GrantRecord) -> models.Grant:
    return models.Grant(id=record.id, client_id=record.client_id, scope=record.scope,
                        sid=record.sid, created_at=record.created_at, expires_at=record.expires_at,
                        revoked=record.revoked)


def client(record: ClientRecord) -> models.Client:
    return models.Client(
        client_id=record.client_id, client_name=record.client_name, source=record.source,
        metadata=record.model_dump(exclude=set(HIDDEN_CLIENT_FIELDS), mode="json"),
        has_secret=record.client_secret_sha256 is not None,
    )


def audit_event(record: AuditRecord) -> models.AuditEvent:
    return models.AuditEvent.model_validate(record.model_dump(exclude={"expires_at"}))


def run_summary(record: RunLogRecord) -> models.RunSummary:
    return models.RunSummary.model_validate(record.model_dump(exclude={"log", "expires_at"}))


def run(record: RunLogRecord) -> models.Run:
    return models.Run.model_validate(record.model_dump(exclude={"expires_at"}))


def key(provider: Provider, record: SigningKeyRecord) -> models.Key:
    return models.Key(
        kid=record.kid, alg=record.alg, state=key_state(provider, record),
        created_at=record.created_at, activates_at=record.activates_at,
        retires_at=record.retires_at,
    )



async def flow_list(provider: Provider) -> list[models.Flow]:
    """Every flow, with its steps and the clients that use it."""
    every_client = await all_clients(provider)
    return [
        models.Flow(
            name=name, description=flow.spec.description or None, start=flow.start,
            steps={step: spec.type for step, spec in flow.spec.steps.items()},
            clients=users_of(provider, name, every_client),
        )
        for name, flow in provider.engine.flows.flows.items()
    ]
