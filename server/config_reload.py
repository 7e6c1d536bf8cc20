"""What `systemctl reload` (SIGHUP) changes besides the flows: the clients of gatehouse.yaml, which
are records of the store and so change safely while serving (each process re-reads a client
within 30 s). Every other setting is read at start-up; a reload says which ones changed and wait
for a restart. A config with a problem changes nothing."""

from __future__ import annotations

import logging

from admin import console_client
from oidc import secret_digest
from server.settings import ClientSettings, Settings, SettingsError, load_settings
from store import ClientRecord, Store
from ui import account_client

log = logging.getLogger("gatehouse.config")


def client_record(client: ClientSettings) -> ClientRecord:
    data = client.model_dump(exclude={"client_secret"})
    secret = client.client_secret
    return ClientRecord(**data, client_secret_sha256=secret_digest(secret) if secret else None)


async def sync_clients(store: Store, settings: Settings) -> None:
    """Clients declared in the config are written to the store at start-up and on reload, with
    the records of the account page and the admin console (for their runs: no clients of
    /authorize or /token)."""
    for client in settings.clients:
        await store.clients.put(client_record(client))
    await store.clients.put(account_client())
    await store.clients.put(console_client())


async def reload_config(running: Settings, store: Store) -> None:
    """Read the config file again: take its clients, and name what else changed."""
    if running.config_file is None:
        return
    try:
        fresh = load_settings(running.config_file)
    except SettingsError as exc:
        log.error("%s: %s; nothing of it is taken", running.config_file, exc)
        return
    await sync_clients(store, fresh)
    changed = sorted(name for name in Settings.model_fields
                     if name != "clients" and getattr(fresh, name) != getattr(running, name))
    log.info("%s: took its %d clients", running.config_file, len(fresh.clients))
    if changed:
        log.warning("%s: %s changed; that takes a restart", running.config_file,
                    ", ".join(changed))
