"""Background work of a server process: re-reading signing keys (rotations made by the CLI or by
other processes) and freeing the space of expired documents."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from oidc import Provider

log = logging.getLogger("gatehouse.maintenance")


async def every(seconds: float, work: Callable[[], Awaitable[None]], what: str) -> None:
    """Run `work` every `seconds`; a failure is logged and retried next time, never fatal."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)


def start_maintenance(
    provider: Provider, key_refresh_interval: float, purge_interval: float
) -> list[asyncio.Task[None]]:
    async def refresh_keys() -> None:
        provider.keys = await provider.keys.reloaded(provider.store)

    async def purge() -> None:
        began = time.monotonic()
        dropped = await provider.store.purge_expired(time.time())
        if dropped:
            log.info("purged %d expired documents in %.2f s", dropped, time.monotonic() - began)

    return [
        asyncio.create_task(every(key_refresh_interval, refresh_keys, "reloading signing keys")),
        asyncio.create_task(every(purge_interval, purge, "purging expired documents")),
    ]
