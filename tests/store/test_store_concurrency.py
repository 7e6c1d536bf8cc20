"""The store contract under concurrency: 50 callers at once, on two connections (as two server
processes would be), and exactly one wins wherever one must."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from store import StaleVersionError, Store, open_store
from tests.store.test_store_contract import NOW, credential, refresh, run

CALLERS = 50


@pytest.fixture
async def two_stores(store_url: str) -> AsyncIterator[tuple[Store, Store]]:
    first = await open_store(store_url)
    second = await open_store(store_url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def successes(attempt: Callable[[Store], Awaitable[object]], stores: tuple[Store, Store]) -> int:
    """How many of CALLERS concurrent attempts (alternating stores) did not lose a version race."""

    async def one(store: Store) -> bool:
        try:
            return bool(await attempt(store))
        except StaleVersionError:
            return False

    results = await asyncio.gather(*(one(stores[i % 2]) for i in range(CALLERS)))
    return results.count(True)


async def test_fifty_redemptions_of_one_refresh_token_have_one_winner(
    two_stores: tuple[Store, Store],
) -> None:
    await two_stores[0].refresh_tokens.add(refresh())

    async def redeem(store: Store) -> bool:
        result = await store.refresh_tokens.redeem("rt-1", NOW, "app")
        assert result is not None
        return result.first

    assert await successes(redeem, two_stores) == 1


async def test_fifty_saves_of_one_run_version_have_one_winner(
    two_stores: tuple[Store, Store],
) -> None:
    """A double-submitted step: every request read version 0, only one may advance the run."""
    await two_stores[0].runs.add(run())
    reads = await asyncio.gather(
        *(two_stores[i % 2].runs.get("run-1", NOW) for i in range(CALLERS))
    )
    for i, loaded in enumerate(reads):
        assert loaded is not None
        loaded.state = f"step-{i}"
    results = await asyncio.gather(
        *(two_stores[i % 2].runs.save(r) for i, r in enumerate(reads) if r is not None),
        return_exceptions=True,
    )
    assert [r for r in results if not isinstance(r, StaleVersionError)] == [None]
    winner = reads[results.index(None)]
    stored = await two_stores[1].runs.get("run-1", NOW)
    assert stored is not None and stored == winner and stored.version == 1


async def test_fifty_uses_of_one_totp_step_have_one_winner(
    two_stores: tuple[Store, Store],
) -> None:
    await two_stores[0].credentials.add(credential("c1", last_step=10))
    reads = await asyncio.gather(
        *(two_stores[i % 2].credentials.get("c1") for i in range(CALLERS))
    )
    for loaded in reads:
        assert loaded is not None
        loaded.data["last_step"] = 11
    results = await asyncio.gather(
        *(two_stores[i % 2].credentials.update(c) for i, c in enumerate(reads) if c is not None),
        return_exceptions=True,
    )
    assert [r for r in results if not isinstance(r, StaleVersionError)] == [None]
    stored = await two_stores[1].credentials.get("c1")
    assert stored is not None and stored.version == 1 and stored.data["last_step"] == 11


async def test_fifty_uses_of_one_recovery_code_have_one_winner(
    two_stores: tuple[Store, Store],
) -> None:
    await two_stores[0].credentials.add(credential("code-1"))
    assert await successes(lambda s: s.credentials.delete("code-1"), two_stores) == 1


async def test_fifty_first_uses_of_one_assertion_id_have_one_winner(
    two_stores: tuple[Store, Store],
) -> None:
    assert await successes(lambda s: s.replay.first_use("jti", NOW + 60, NOW), two_stores) == 1
