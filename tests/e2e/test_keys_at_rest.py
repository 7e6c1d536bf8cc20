"""A running server's private signing keys at rest: an earlier version's clear key is sealed at
start-up and still signs; tokens keep verifying across restarts and a credential key rotation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx2
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from oidc.keys import generate_key
from store import open_store
from store.records import SigningKeyRecord
from store.sealing import Sealer
from tests.e2e.server import SERVICE_SECRET, RunningServer, start_server
from tests.private_keys import clear_private_keys, raw_documents


def signed_token(server: RunningServer) -> str:
    answer = httpx2.post(f"{server.issuer}/token", auth=("service", SERVICE_SECRET),
                         data={"grant_type": "client_credentials", "scope": "api:read"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def verified_kid(server: RunningServer, token: str) -> str:
    """The kid of `token`, once its signature checks against the server's JWKS."""
    published = KeySet.import_key_set(httpx2.get(f"{server.issuer}/jwks").json())
    return str(jwt.decode(token, published, algorithms=["RS256"]).header["kid"])


async def test_keys_are_sealed_and_sign_across_restarts_and_a_credential_key_rotation(
    tmp_path: Path,
) -> None:
    db = tmp_path / "gatehouse.db"
    earlier = generate_key("RS256")  # the key an earlier version kept in clear
    assert earlier.kid is not None
    store = await open_store(f"sqlite:///{db}")
    await store.keys.add(SigningKeyRecord(kid=earlier.kid, alg="RS256", created_at=1.0,
                                          private_jwk=earlier.as_dict(private=True)))
    await store.close()
    old, new = Sealer.new_key(), Sealer.new_key()

    tokens = []
    for credential_keys in ([old], [new, old], [new]):  # rotate: put the new first, then drop old
        server = start_server(tmp_path, credential_keys=credential_keys)
        try:
            tokens.append(signed_token(server))
            assert {verified_kid(server, token) for token in tokens} == {earlier.kid}
        finally:
            server.stop()
        assert "Traceback" not in server.log.read_text()
        store = await open_store(f"sqlite:///{db}")
        try:
            keys = await raw_documents(store, "signing_keys")
            assert clear_private_keys(keys + await raw_documents(store, "secrets")) == []
        finally:
            await store.close()
        for doc in keys:  # sealed under the first credential key, whichever came before
            assert "d" in json.loads(Sealer(credential_keys[:1]).open(doc["sealed_jwk"]))
    public = RSAKey.import_key(earlier.as_dict(private=False))
    assert all(jwt.decode(token, public).claims["client_id"] == "service" for token in tokens)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
