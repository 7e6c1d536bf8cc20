"""The CLI and private signing keys at rest: the store file it creates is its owner's only, an
export never holds a clear private key, and an import seals the keys it brings."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import yaml

from oidc.keys import KeyRing, generate_key
from store import Store, open_store
from store.records import SigningKeyRecord
from store.sealing import Sealer
from tests.e2e.server import gatehouse
from tests.private_keys import clear_private_keys, raw_documents

CREDENTIAL_KEY = Sealer.new_key()


def config(path: Path, store: str, credential_keys: list[str]) -> Path:
    path.write_text(yaml.safe_dump({
        "issuer": "http://127.0.0.1:9", "store": store, "credential_keys": credential_keys}))
    return path


def earlier_version_key() -> tuple[str, dict[str, object]]:
    """A key as an earlier version kept it: its JWK in clear."""
    key = generate_key("RS256")
    assert key.kid is not None
    return key.kid, key.as_dict(private=True)


async def keep_in_clear(store: Store, kid: str, jwk: dict[str, object]) -> None:
    await store.secrets.get_or_create("first-signing-key:RS256", json.dumps(jwk))
    await store.keys.add(SigningKeyRecord(kid=kid, alg="RS256", private_jwk=jwk, created_at=1.0))


async def at_rest(store_url: str) -> list[dict[str, object]]:
    store = await open_store(store_url)
    try:
        return await raw_documents(store, "signing_keys") + await raw_documents(store, "secrets")
    finally:
        await store.close()


def test_the_store_a_command_creates_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = config(tmp_path / "gatehouse.yaml", f"sqlite:///{tmp_path / 'gatehouse.db'}", [])
    old = os.umask(0o022)  # the usual umask: new files readable by everyone
    try:
        listed = gatehouse(settings, "keys", "list")
    finally:
        os.umask(old)
    assert listed.returncode == 0, listed.stderr
    assert stat.S_IMODE((tmp_path / "gatehouse.db").stat().st_mode) == 0o600


async def test_an_export_holds_no_clear_private_key_and_its_import_opens(
    tmp_path: Path, store_url: str
) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    source = config(tmp_path / "source.yaml", source_url, [CREDENTIAL_KEY])
    store = await open_store(source_url)
    kid, jwk = earlier_version_key()
    await keep_in_clear(store, kid, jwk)  # a store of an earlier version, never started since
    await store.close()

    dump = tmp_path / "dump.jsonl"
    exported = gatehouse(source, "export", str(dump))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in dump.read_text().splitlines()]
    assert [line["document"]["kid"] for line in lines if line["collection"] == "signing_keys"] == [kid]
    assert clear_private_keys(lines) == []
    assert clear_private_keys(await at_rest(source_url)) == []  # sealed in the source as well

    target = config(tmp_path / "target.yaml", store_url, [CREDENTIAL_KEY])
    imported = gatehouse(target, "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    assert clear_private_keys(await at_rest(store_url)) == []
    listed = gatehouse(target, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert [kid, "RS256", "signing"] in [line.split()[:3] for line in listed.stdout.splitlines()]


async def test_an_import_seals_the_clear_keys_of_an_earlier_export(
    tmp_path: Path, store_url: str
) -> None:
    kid, jwk = earlier_version_key()
    dump = tmp_path / "earlier.jsonl"
    dump.write_text("\n".join(json.dumps(line) for line in [
        {"collection": "secrets",
         "document": {"id": "first-signing-key:RS256", "value": json.dumps(jwk)}},
        {"collection": "signing_keys",
         "document": {"kid": kid, "alg": "RS256", "private_jwk": jwk, "created_at": 1.0,
                      "activates_at": 0, "retires_at": None}},
    ]) + "\n")
    target = config(tmp_path / "target.yaml", store_url, [CREDENTIAL_KEY])
    imported = gatehouse(target, "import", str(dump))
    assert imported.returncode == 0, imported.stderr
    assert "1 signing_keys" in imported.stdout
    assert clear_private_keys(await at_rest(store_url)) == []
    store = await open_store(store_url)
    try:
        ring = await KeyRing.load(store, Sealer([CREDENTIAL_KEY]))
    finally:
        await store.close()
    assert ring.signing_kid("RS256") == kid


async def test_an_import_of_keys_sealed_with_an_unlisted_credential_key_says_so(
    tmp_path: Path, store_url: str
) -> None:
    source = config(tmp_path / "source.yaml", f"sqlite:///{tmp_path / 'source.db'}",
                    [CREDENTIAL_KEY])
    assert gatehouse(source, "keys", "list").returncode == 0  # creates the first keys
    dump = tmp_path / "dump.jsonl"
    assert gatehouse(source, "export", str(dump)).returncode == 0
    target = config(tmp_path / "target.yaml", store_url, [Sealer.new_key()])
    imported = gatehouse(target, "import", str(dump))
    assert imported.returncode == 1
    assert "credential_keys must list the key it was sealed with" in imported.stderr
    assert "Traceback" not in imported.stderr


async def test_setting_credential_keys_later_seals_the_keys_under_them(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'gatehouse.db'}"
    unset = config(tmp_path / "gatehouse.yaml", store_url, [])
    assert gatehouse(unset, "keys", "list").returncode == 0  # sealed with the store's own key
    later = config(tmp_path / "gatehouse.yaml", store_url, [CREDENTIAL_KEY])
    listed = gatehouse(later, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    for doc in await at_rest(store_url):
        if "sealed_jwk" in doc:
            assert "d" in json.loads(Sealer([CREDENTIAL_KEY]).open(str(doc["sealed_jwk"])))
