"""Signing keys: generated on first start, kept in the store, imported once per process."""

from __future__ import annotations

import json
import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from store.records import SigningKeyRecord
from store.repositories import Store

SUPPORTED_ALGS = ("RS256", "ES256")


def _generate(alg: str) -> RSAKey | ECKey:
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters={"alg": alg, "use": "sig"}, private=True)
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters={"alg": alg, "use": "sig"}, private=True)
    raise ValueError(f"unsupported signing algorithm {alg}")


class KeyRing:
    """The keys this process signs and verifies with. The oldest key of an algorithm signs."""

    def __init__(self, records: list[SigningKeyRecord]) -> None:
        self._records = records
        self._keys = {r.kid: _import(r.private_jwk) for r in records}
        self._signing: dict[str, str] = {}
        for record in records:
            self._signing.setdefault(record.alg, record.kid)
        self._keyset = KeySet(list(self._keys.values()))

    @classmethod
    async def load(cls, store: Store, algs: tuple[str, ...] = SUPPORTED_ALGS) -> KeyRing:
        """Load the keys, creating a first key per algorithm. Processes starting together agree
        on one first key: the store keeps whichever was offered first."""
        have = {record.alg for record in await store.keys.all()}
        for alg in algs:
            if alg in have:
                continue
            offered = _generate(alg)
            offered.ensure_kid()
            chosen = json.loads(
                await store.secrets.get_or_create(
                    f"first-signing-key:{alg}", json.dumps(offered.as_dict(private=True))
                )
            )
            key = _import(chosen)
            assert key.kid is not None  # _import sets the RFC 7638 thumbprint as kid
            await store.keys.add(
                SigningKeyRecord(kid=key.kid, alg=alg, private_jwk=chosen, created_at=time.time())
            )
        return cls(await store.keys.all())

    def sign(self, claims: dict[str, Any], alg: str = "RS256", typ: str = "JWT") -> str:
        kid = self._signing[alg]
        return jwt.encode({"alg": alg, "kid": kid, "typ": typ}, claims, self._keys[kid])

    def decode(self, token: str) -> jwt.Token:
        """Check the signature of one of our tokens; raises `JoseError` (or ValueError) if bad."""
        return jwt.decode(token, self._keyset, algorithms=list(SUPPORTED_ALGS))

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set served at jwks_uri: public parts only."""
        return {"keys": [key.as_dict(private=False) for key in self._keys.values()]}


def _import(jwk: dict[str, Any]) -> RSAKey | ECKey:
    key = (ECKey if jwk["kty"] == "EC" else RSAKey).import_key(jwk)
    key.ensure_kid()
    return key


__all__ = ["JoseError", "KeyRing"]
