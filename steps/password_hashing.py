"""argon2id password hashing on a bounded thread pool, so a hash never blocks the event loop.

Hashes from other systems (steps/password_formats.py) verify too, and always need a rehash: the
`password` step replaces them with argon2id at the user's next sign-in.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from steps.password_formats import ARGON2_PREFIX, verify_foreign, within_limits

# OWASP's argon2id recommendation: m=19 MiB, t=2, p=1.
OWASP_TIME_COST, OWASP_MEMORY_COST_KIB, OWASP_PARALLELISM = 2, 19456, 1


class PasswordHashing:
    """Hash passwords with argon2id and verify them (argon2 or a foreign format); every hash and
    verification runs on a pool of `threads` threads."""

    def __init__(
        self,
        threads: int = 2,
        time_cost: int = OWASP_TIME_COST,
        memory_cost: int = OWASP_MEMORY_COST_KIB,
        parallelism: int = OWASP_PARALLELISM,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        # Verified against when the user is unknown, so that both cases cost one argon2 verify.
        self._dummy_hash = self._hasher.hash("gatehouse-dummy-password")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hasher.hash, password
        )

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash, spend the same time and say False."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, stored_hash, password
        )

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash and not stored_hash.startswith(ARGON2_PREFIX):
            return verify_foreign(stored_hash, password)
        if stored_hash and not within_limits(stored_hash):
            return False  # an imported argon2 hash that would cost minutes to check
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and bool(
                stored_hash
            )
        except (VerificationError, ValueError):  # a wrong password, or a malformed hash
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True unless it is argon2id at this hasher's parameters."""
        try:
            return not stored_hash.startswith(ARGON2_PREFIX) or self._hasher.check_needs_rehash(
                stored_hash
            )
        except ValueError:  # malformed
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False)
