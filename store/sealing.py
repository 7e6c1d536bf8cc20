"""Secrets kept at rest encrypted (TOTP keys, private signing keys): Fernet (AES-128-CBC with
HMAC-SHA256) under keys from the config. The first key seals; every key opens, so a new key can be
put first and the old ones kept until everything sealed with them has been re-sealed or deleted."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealError(ValueError):
    """Sealed data that no configured key opens (a key was dropped, or the data was altered)."""


class Sealer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a sealer needs at least one key")
        self._current = Fernet(keys[0].encode())
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @staticmethod
    def new_key() -> str:
        """A fresh key (32 random bytes, base64url), as the config expects it."""
        return Fernet.generate_key().decode()

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealError("sealed data that no configured key opens") from exc

    def resealed(self, sealed: str) -> str | None:
        """`sealed` sealed again under the first key, or None when it already is."""
        try:
            self._current.decrypt(sealed.encode())
            return None
        except InvalidToken:
            pass
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealError("sealed data that no configured key opens") from exc
