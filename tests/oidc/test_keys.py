"""Key rotation: publish first, sign later, keep verifying until the old tokens have expired."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from oidc.keys import KeyRing, rotate
from store import Store, open_store
from store.sealing import Sealer

NOW = 1_700_000_000.0
SEALER = Sealer([Sealer.new_key()])


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await open_store("sqlite://:memory:")
    yield s
    await s.close()


def kids(ring: KeyRing) -> set[str]:
    return {key["kid"] for key in ring.public_jwks()["keys"]}


async def test_rotation_timeline(store: Store) -> None:
    clock = [NOW]
    first = await KeyRing.load(store, SEALER)
    old_kid = first.signing_kid("RS256")
    new = await rotate(store, SEALER, "RS256", activate_in=600, tokens_live=3600, now=NOW)
    ring = KeyRing(await store.keys.all(), SEALER, clock=lambda: clock[0])

    # Published at once, signing only after activation.
    assert new.kid in kids(ring) and old_kid in kids(ring)
    assert ring.signing_kid("RS256") == old_kid
    old_token = ring.sign({"sub": "x"})
    clock[0] = NOW + 600
    assert ring.signing_kid("RS256") == new.kid
    assert ring.decode(old_token).claims["sub"] == "x"  # old tokens still verify
    # The old key goes when the tokens it signed have expired.
    clock[0] = NOW + 600 + 3600
    assert old_kid not in kids(ring) and new.kid in kids(ring)
    with pytest.raises(ValueError, match="retired"):
        ring.decode(old_token)
    # ES256 was not touched.
    assert ring.signing_kid("ES256") == first.signing_kid("ES256")


async def test_reloading_reuses_imported_keys(store: Store) -> None:
    ring = await KeyRing.load(store, SEALER)
    await rotate(store, SEALER, "ES256", activate_in=0, tokens_live=60)
    again = await ring.reloaded(store)
    assert len(again.public_jwks()["keys"]) == 3
    assert again._keys[ring.signing_kid("RS256")] is ring._keys[ring.signing_kid("RS256")]
