"""Signing keys: generated on first start, kept in the store sealed with `credential_keys`,
imported once per process, rotated with `gatehouse keys rotate` (the next key is published before
it signs; the old one stays published until the tokens it signed have expired)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.util import json_b64encode, urlsafe_b64encode

from store import Sealer, SealError, SigningKeyRecord, Store

SUPPORTED_ALGS = ("RS256", "ES256")
JWS_ALGORITHMS = JWSRegistry()  # joserfc's own algorithms
Key = RSAKey | ECKey
log = logging.getLogger("gatehouse.keys")


def generate_key(alg: str) -> Key:
    if alg == "RS256":
        key: Key = RSAKey.generate_key(2048, parameters={"alg": alg, "use": "sig"}, private=True)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters={"alg": alg, "use": "sig"}, private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    key.ensure_kid()  # the RFC 7638 thumbprint
    return key


class KeyRing:
    """The keys this process signs and verifies with, as of the last (re)load from the store."""

    def __init__(
        self,
        records: list[SigningKeyRecord],
        sealer: Sealer,
        clock: Callable[[], float] = time.time,
        imported: dict[str, Key] | None = None,
    ) -> None:
        self.clock = clock
        self._sealer = sealer
        self._records = sorted(records, key=lambda r: (r.activates_at, r.created_at, r.kid))
        known = imported or {}
        self._keys = {
            r.kid: known.get(r.kid) or _import(_private_jwk(r, sealer)) for r in self._records
        }
        self._keyset = KeySet(list(self._keys.values()))
        self._headers: dict[tuple[str, str], bytes] = {}  # encoded, by key id and type

    @classmethod
    async def load(
        cls, store: Store, sealer: Sealer, algs: tuple[str, ...] = SUPPORTED_ALGS
    ) -> KeyRing:
        """Load the keys (sealing them under the first credential key: `seal_stored_keys`),
        creating a first key per algorithm. Processes starting together agree on one first key:
        the store keeps whichever was offered first."""
        await seal_stored_keys(store, sealer)
        have = {record.alg for record in await store.keys.all()}
        for alg in algs:
            if alg in have:
                continue
            offered = sealer.seal(json.dumps(generate_key(alg).as_dict(private=True)))
            chosen = await store.secrets.get_or_create(_first_key_secret(alg), offered)
            key = _import(json.loads(_opened_secret(chosen, sealer)))
            await store.keys.add(_record(key, alg, time.time(), 0, sealer))
        return cls(await store.keys.all(), sealer)

    async def reloaded(self, store: Store) -> KeyRing:
        """The keys as the store has them now (rotations by other processes), reusing imports."""
        return KeyRing(await store.keys.all(), self._sealer, self.clock, self._keys)

    def _published(self, record: SigningKeyRecord) -> bool:
        return record.retires_at is None or record.retires_at > self.clock()

    def signing_kid(self, alg: str) -> str:
        now = self.clock()
        active = [
            r
            for r in self._records
            if r.alg == alg and r.activates_at <= now and self._published(r)
        ]
        return active[-1].kid

    def sign(self, claims: dict[str, Any], alg: str = "RS256", typ: str = "JWT") -> str:
        """A compact JWS (RFC 7515 §7.1) of `claims`, signed by joserfc's algorithm with the key
        imported at load. The protected header is ours, made once per key and type, so it is
        not checked again for each token as `jwt.encode` would."""
        kid = self.signing_kid(alg)
        header = self._headers.get((kid, typ))
        if header is None:
            header = self._headers[kid, typ] = json_b64encode({"typ": typ, "alg": alg, "kid": kid})
        payload = urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = header + b"." + payload
        signature = JWS_ALGORITHMS.get_alg(alg).sign(signing_input, self._keys[kid])
        return (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")

    def decode(self, token: str) -> jwt.Token:
        """Check the signature of one of our tokens; raises `JoseError` (or ValueError) if bad,
        or if it was signed by a retired key."""
        try:
            decoded = jwt.decode(token, self._keyset, algorithms=list(SUPPORTED_ALGS))
        except (TypeError, KeyError, AttributeError) as exc:
            # joserfc raises these for some malformed headers (e.g. a non-string `crit`).
            raise ValueError("malformed token") from exc
        record = next((r for r in self._records if r.kid == decoded.header.get("kid")), None)
        if record is None or not self._published(record):
            raise ValueError("signed by a retired key")
        return decoded

    def published_kids(self) -> tuple[str, ...]:
        """The ids of the keys published now (the next key before it signs, the retired ones
        until the tokens they signed have expired)."""
        return tuple(r.kid for r in self._records if self._published(r))

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set served at jwks_uri: public parts of every published key."""
        return {"keys": [self._keys[kid].as_dict(private=False) for kid in self.published_kids()]}


async def rotate(
    store: Store,
    sealer: Sealer,
    alg: str,
    activate_in: float,
    tokens_live: float,
    now: float | None = None,
) -> SigningKeyRecord:
    """Add the next key of `alg`, signing from `activate_in` seconds on, and retire the current
    ones `tokens_live` seconds after that."""
    now = time.time() if now is None else now
    key = generate_key(alg)
    record = _record(key, alg, now, now + activate_in, sealer)
    current = [r for r in await store.keys.all() if r.alg == alg and r.retires_at is None]
    await store.keys.add(record)
    for old in current:
        await store.keys.retire(old.kid, record.activates_at + tokens_live)
    return record


async def seal_stored_keys(store: Store, sealer: Sealer) -> None:
    """Seal what an earlier version kept in clear (keys, first-key offers), and seal again under
    the first credential key what an older one sealed, so that the older can then be dropped.
    Runs at start-up and before an export; processes doing it at once write equal keys."""
    for record in await store.keys.all():
        if record.sealed_jwk is None:
            assert record.private_jwk is not None  # the record's validator ensures it
            log.warning("sealing signing key %s, kept in clear until now", record.kid)
            await store.keys.seal(record.kid, sealer.seal(json.dumps(record.private_jwk)))
            continue
        try:
            sealed = sealer.resealed(record.sealed_jwk)
        except SealError as exc:
            raise _unopened(f"signing key {record.kid}", exc) from exc
        if sealed is not None or record.private_jwk is not None:
            await store.keys.seal(record.kid, sealed or record.sealed_jwk)
    for alg in SUPPORTED_ALGS:
        name = _first_key_secret(alg)
        value = await store.secrets.get(name)
        if value is None:
            continue
        try:
            sealed = sealer.resealed(value) if _is_sealed(value) else sealer.seal(value)
        except SealError as exc:
            raise _unopened(f"secret {name}", exc) from exc
        if sealed is not None:
            await store.secrets.replace(name, sealed)


def _unopened(what: str, exc: SealError) -> SealError:
    return SealError(f"{what}: {exc} (credential_keys must list the key it was sealed with)")


def _first_key_secret(alg: str) -> str:
    return f"first-signing-key:{alg}"


def _is_sealed(value: str) -> bool:
    return not value.startswith("{")  # a Fernet token is base64url; a clear JWK is JSON


def _opened_secret(value: str, sealer: Sealer) -> str:
    return sealer.open(value) if _is_sealed(value) else value


def _private_jwk(record: SigningKeyRecord, sealer: Sealer) -> dict[str, Any]:
    if record.sealed_jwk is None:
        assert record.private_jwk is not None
        return record.private_jwk
    try:
        jwk: dict[str, Any] = json.loads(sealer.open(record.sealed_jwk))
    except SealError as exc:
        raise _unopened(f"signing key {record.kid}", exc) from exc
    return jwk


def _record(
    key: Key, alg: str, now: float, activates_at: float, sealer: Sealer
) -> SigningKeyRecord:
    assert key.kid is not None
    return SigningKeyRecord(
        kid=key.kid,
        alg=alg,
        sealed_jwk=sealer.seal(json.dumps(key.as_dict(private=True))),
        created_at=now,
        activates_at=activates_at,
    )


def _import(jwk: dict[str, Any]) -> Key:
    key: Key = (ECKey if jwk["kty"] == "EC" else RSAKey).import_key(jwk)
    key.ensure_kid()
    return key


__all__ = ["JoseError", "KeyRing", "generate_key", "rotate", "seal_stored_keys"]
