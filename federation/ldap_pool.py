"""The connections of an LDAP directory (federation/ldap_directory.py): up to `pool_size` open at
once, each used by one thread of the pool's own at a time, since python-ldap is synchronous. A
connection that fails is dropped and the next server is tried, from the one that last answered;
when none answers, `DirectoryUnavailable`. Answers about an account (`AccountBlocked` and the
like) leave the connection in the pool."""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import ldap

from federation.directory import (
    AccountBlocked,
    DirectoryUnavailable,
    PasswordExpired,
    PasswordRefused,
)
from federation.ldap_options import LdapOptions

T = TypeVar("T")
# Failures of the connection or the server, after which another server is tried.
UNREACHABLE = (ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE, ldap.BUSY)


@dataclass
class Connection:
    handle: Any  # ldap.ldapobject.LDAPObject
    server: str
    bound_as: str | None = None  # the DN of the last successful bind; None: anonymous


class LdapPool:
    def __init__(self, settings: LdapOptions) -> None:
        self.settings = settings
        self.threads = ThreadPoolExecutor(settings.pool_size, thread_name_prefix="ldap")
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue(settings.pool_size)
        self._preferred = 0  # the index of the server that last answered

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work` on a pooled connection, in one of the pool's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, self._with_connection, work)

    async def in_thread(self, work: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.threads, work, *args)

    def close(self) -> None:
        while not self._idle.empty():
            drop(self._idle.get_nowait())
        self.threads.shutdown(wait=False)

    def _with_connection(self, work: Callable[[Connection], T]) -> T:
        """`work` on an idle connection (or a new one), again on the next server when the
        connection fails; the connection goes back to the pool unless it failed."""
        servers = self.settings.servers
        tried: list[str] = []
        for _ in range(len(servers) + 1):  # one more: an idle connection may have gone stale
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self.connect(tried)
            try:
                result = work(conn)
            except UNREACHABLE as exc:
                tried.append(f"{conn.server}: {reason(exc)}")
                drop(conn)
                self._preferred = (servers.index(conn.server) + 1) % len(servers)
                continue
            except ldap.LDAPError as exc:
                drop(conn)
                raise DirectoryUnavailable(f"{conn.server}: {reason(exc)}") from exc
            except (AccountBlocked, PasswordExpired, PasswordRefused):
                self._release(conn)  # an answer about the account: the connection is fine
                raise
            except BaseException:
                drop(conn)
                raise
            self._release(conn)
            return result
        raise DirectoryUnavailable("no server answered: " + "; ".join(tried))

    def _release(self, conn: Connection) -> None:
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            drop(conn)

    def connect(self, tried: list[str]) -> Connection:
        """A new connection to the server that last answered, or the next one that accepts it."""
        servers = self.settings.servers
        for step in range(len(servers)):
            index = (self._preferred + step) % len(servers)
            try:
                handle = self._open(servers[index])
            except ldap.LDAPError as exc:
                tried.append(f"{servers[index]}: {reason(exc)}")
                continue
            self._preferred = index
            return Connection(handle, servers[index])
        raise DirectoryUnavailable("no server answered: " + "; ".join(tried))

    def _open(self, server: str) -> Any:
        """A handle on `server` with the timeouts and TLS settings; libldap connects at its
        first operation, or here for StartTLS."""
        settings = self.settings
        handle = ldap.initialize(server, bytes_mode=False)
        handle.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
        handle.set_option(ldap.OPT_REFERRALS, 0)  # never chase a referral with our credentials
        handle.set_option(ldap.OPT_NETWORK_TIMEOUT, settings.timeout)
        handle.set_option(ldap.OPT_TIMEOUT, settings.timeout)
        handle.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        if settings.ca_file is not None:
            handle.set_option(ldap.OPT_X_TLS_CACERTFILE, str(settings.ca_file))
        handle.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: the TLS options above take effect
        if settings.start_tls and server.startswith("ldap://"):
            handle.start_tls_s()
        return handle


def drop(conn: Connection) -> None:
    with contextlib.suppress(ldap.LDAPError):
        conn.handle.unbind_s()


def reason(exc: ldap.LDAPError) -> str:
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    parts = [str(detail.get("desc", type(exc).__name__)), str(detail.get("info", ""))]
    return ": ".join(p for p in parts if p)


