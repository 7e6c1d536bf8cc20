"""Private signing keys at rest: sealed with `credential_keys` in every store, sealed again under
a new credential key at start-up, and keys an earlier version kept in clear are sealed."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from oidc.keys import KeyRing, generate_key
from store import Store, open_store
from store.records import SigningKeyRecord
from store.sealing import Sealer, SealError
from tests.private_keys import clear_private_keys, raw_documents

OLD, NEW = Sealer.new_key(), Sealer.new_key()
NOW = 1_700_000_000.0


async def at_rest(store: Store) -> list[dict[str, object]]:
    return await raw_documents(store, "signing_keys") + await raw_documents(store, "secrets")


async def test_stored_keys_hold_no_clear_private_key(store: Store) -> None:
    ring = await KeyRing.load(store, Sealer([OLD]))
    keys = await raw_documents(store, "signing_keys")
    assert sorted(doc["alg"] for doc in keys) == ["ES256", "RS256"]
    assert all(isinstance(doc["sealed_jwk"], str) for doc in keys)
    assert clear_private_keys(await at_rest(store)) == []
    token = ring.sign({"sub": "x"})
    assert jwt.decode(token, KeySet.import_key_set(ring.public_jwks())).claims["sub"] == "x"


async def test_signing_goes_on_after_a_restart(store: Store, store_url: str) -> None:
    first = await KeyRing.load(store, Sealer([OLD]))
    token = first.sign({"sub": "x"}, alg="ES256")
    restarted = await open_store(store_url)
    try:
        again = await KeyRing.load(restarted, Sealer([OLD]))
    finally:
        await restarted.close()
    assert again.signing_kid("RS256") == first.signing_kid("RS256")
    assert again.decode(token).claims["sub"] == "x"
    assert again.decode(again.sign({"sub": "y"})).claims["sub"] == "y"


async def test_a_new_credential_key_seals_again_and_the_old_one_can_go(store: Store) -> None:
    first = await KeyRing.load(store, Sealer([OLD]))
    token = first.sign({"sub": "x"})
    await KeyRing.load(store, Sealer([NEW, OLD]))  # NEW put first: everything is sealed again
    new_only = Sealer([NEW])
    for doc in await raw_documents(store, "signing_keys"):
        kid = doc.get("kid", doc.get("_id"))  # MongoDB keeps the id field as _id
        assert json.loads(new_only.open(str(doc["sealed_jwk"])))["kid"] == kid
    for doc in await raw_documents(store, "secrets"):
        assert "d" in json.loads(new_only.open(str(doc["value"])))  # the first-key offers
    ring = await KeyRing.load(store, new_only)  # OLD dropped from the config
    assert ring.signing_kid("RS256") == first.signing_kid("RS256")
    assert ring.decode(token).claims["sub"] == "x"


async def test_a_key_sealed_with_a_dropped_credential_key_stops_start_up_by_name(
    store: Store,
) -> None:
    first = await KeyRing.load(store, Sealer([OLD]))
    with pytest.raises(SealError, match=f"signing key {first.signing_kid('RS256')}:"
                       ".*credential_keys must list the key"):
        await KeyRing.load(store, Sealer([NEW]))


async def test_clear_keys_of_an_earlier_version_are_read_then_sealed(store: Store) -> None:
    key = generate_key("RS256")
    assert key.kid is not None
    clear = key.as_dict(private=True)
    # As an earlier version left them: the first-key offer and the key itself, in clear.
    await store.secrets.get_or_create("first-signing-key:RS256", json.dumps(clear))
    await store.keys.add(SigningKeyRecord(kid=key.kid, alg="RS256", private_jwk=clear,
                                          created_at=NOW))
    assert clear_private_keys(await at_rest(store)) != []

    ring = await KeyRing.load(store, Sealer([OLD]))
    assert ring.signing_kid("RS256") == key.kid
    token = ring.sign({"sub": "x"})
    assert jwt.decode(token, key).claims["sub"] == "x"  # signed with the very same key
    assert clear_private_keys(await at_rest(store)) == []
    [stored] = [k for k in await store.keys.all() if k.kid == key.kid]
    assert stored.private_jwk is None
    assert json.loads(Sealer([OLD]).open(str(stored.sealed_jwk))) == clear
