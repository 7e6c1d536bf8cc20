"""Clients for an administrator: all of them listed with where they come from; those the admin
API keeps (source `admin`) created, changed, deleted and given new secrets. Clients from
gatehouse.yaml are changed there; self-registered ones by their registration access token (or
deleted here). Revoking a client's tokens revokes every grant it holds."""

from __future__ import annotations

import secrets
from typing import Any

from admin.actors import Actor, Conflict, NotFound
from observe import AuditKind, audit
from oidc import ClientPolicy, Provider, secret_digest
from store import ClientRecord, Cursor

SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


async def all_clients(provider: Provider) -> list[ClientRecord]:
    return await provider.store.clients.all()


async def clients_page(
    provider: Provider, limit: int, after: Cursor | None
) -> list[ClientRecord]:
    """A page of every client (config, registered, admin, built in), by client_id."""
    return await provider.store.clients.page(limit, after)


async def find_client(provider: Provider, client_id: str) -> ClientRecord:
    client = await provider.store.clients.get(client_id)
    if client is None:
        raise NotFound(f"no client {client_id!r}")
    return client


def _kept_here(client: ClientRecord) -> None:
    if client.source == "config":
        raise Conflict(f"client {client.client_id} comes from gatehouse.yaml: change it there")
    if client.source != "admin":
        raise Conflict(f"client {client.client_id} is not kept by the admin API")


def _record(policy: ClientPolicy, secret: str | None, was: ClientRecord | None) -> ClientRecord:
    digest = secret_digest(secret) if secret else was.client_secret_sha256 if was else None
    return ClientRecord(
        **policy.model_dump(), source="admin",
        client_secret_sha256=digest if policy.token_endpoint_auth_method in SECRET_METHODS
        else None,
    )


def _flow_exists(provider: Provider, policy: ClientPolicy) -> None:
    if policy.flow is not None and policy.flow not in provider.engine.flows.flows:
        raise Conflict(f"flow {policy.flow!r} is not in flows.yaml")


async def create_client(
    provider: Provider, actor: Actor, policy: ClientPolicy
) -> tuple[ClientRecord, str | None]:
    """The new client, and its secret (shown once) when its method uses one."""
    if await provider.store.clients.get(policy.client_id) is not None:
        raise Conflict(f"client id {policy.client_id!r} is taken")
    _flow_exists(provider, policy)
    secret = secrets.token_urlsafe(32) if (
        policy.token_endpoint_auth_method in SECRET_METHODS
    ) else None
    client = _record(policy, secret, None)
    await provider.store.clients.put(client)
    await _audit(provider, actor, "client_created", client)
    return client, secret


async def update_client(
    provider: Provider, actor: Actor, client: ClientRecord, policy: ClientPolicy
) -> tuple[ClientRecord, str | None]:
    """Replace the client's metadata and policies (its id stays); a new secret when it needs
    one and had none."""
    _kept_here(client)
    if policy.client_id != client.client_id:
        raise Conflict("the client_id of a client cannot change")
    _flow_exists(provider, policy)
    needs = policy.token_endpoint_auth_method in SECRET_METHODS
    secret = secrets.token_urlsafe(32) if needs and client.client_secret_sha256 is None else None
    updated = _record(policy, secret, client)
    await provider.store.clients.put(updated)
    await _audit(provider, actor, "client_updated", updated)
    return updated, secret


async def delete_client(provider: Provider, actor: Actor, client: ClientRecord) -> None:
    if client.source not in ("admin", "registration"):
        _kept_here(client)
    await revoke_tokens(provider, actor, client)
    await provider.store.clients.delete(client.client_id)
    await _audit(provider, actor, "client_deleted", client)


async def rotate_secret(provider: Provider, actor: Actor, client: ClientRecord) -> str:
    _kept_here(client)
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise Conflict(f"client {client.client_id} authenticates without a secret")
    secret = secrets.token_urlsafe(32)
    await provider.store.clients.put(
        client.model_copy(update={"client_secret_sha256": secret_digest(secret)})
    )
    await _audit(provider, actor, "client_secret_rotated", client)
    return secret


async def revoke_tokens(provider: Provider, actor: Actor, client: ClientRecord) -> int:
    """Revoke every grant the client holds: its refresh tokens and the access tokens issued
    with them stop working (a client_credentials JWT carries its own grant and lives until it
    expires, `access_token_lifetime`)."""
    grants = await provider.store.grants.for_client(client.client_id, provider.clock())
    for grant in grants:
        await provider.store.grants.revoke(grant.id)
    await _audit(provider, actor, "client_tokens_revoked", client, grants=len(grants))
    return len(grants)


async def _audit(
    provider: Provider, actor: Actor, kind: AuditKind, client: ClientRecord, **details: Any
) -> None:
    await audit(provider.store, kind, client_id=actor.client_id,
                by=actor.label, of_client=client.client_id, **details)
