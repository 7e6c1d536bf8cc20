"""The sealer of secrets at rest (TOTP secrets, private signing keys), from `credential_keys`."""

from __future__ import annotations

import logging

from server.settings import Settings
from store import Sealer, Store

log = logging.getLogger("gatehouse")
STORED_KEY = "credential-key"  # the store's own key, when credential_keys is not set


async def sealer_for(settings: Settings, store: Store) -> Sealer:
    """The configured keys, else one generated and kept in the store. A key the store kept
    before `credential_keys` was set still opens what it sealed (after the configured ones), so
    setting them later locks nothing out; signing keys are then sealed again at start-up."""
    stored = await store.secrets.get(STORED_KEY)
    if settings.credential_keys:
        return Sealer([*settings.credential_keys, *([stored] if stored else [])])
    log.warning(
        "credential_keys is not set: TOTP secrets and signing keys are sealed with a key kept in"
        " the store itself"
    )
    return Sealer([stored or await store.secrets.get_or_create(STORED_KEY, Sealer.new_key())])
