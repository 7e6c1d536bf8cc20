"""Digests of stored secrets and constant-time comparison."""

from __future__ import annotations

import hashlib
import hmac


def digest(value: str) -> str:
    """What the store keeps of a secret (codes, tokens, cookies): its SHA-256, hex."""
    return hashlib.sha256(value.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality that also takes non-ASCII input (compare_digest on str does not)."""
    return hmac.compare_digest(given.encode(), expected.encode())
