"""`LdapDirectory`: people of an OpenLDAP or Active Directory server sign in with their directory
password (the settings are federation/ldap_options.py, the guide docs/directories.md).

python-ldap (OpenLDAP's libldap) is synchronous: each call runs in a thread of the directory's
own pool, on a connection of its own (federation/ldap_pool.py), so a slow directory never blocks
the event loop; what an account's answers mean is federation/ldap_states.py.

Everything typed is escaped before it reaches the directory: a login in a filter per RFC 4515
(`*`, `(`, `)`, `\\`, NUL), in a DN per RFC 4514. An empty password is refused before any bind:
a simple bind with a DN and no password is an unauthenticated bind, which servers accept
(RFC 4513 §5.1.2).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence

import ldap
import ldap.dn
import ldap.filter
from ldap.controls import SimplePagedResultsControl

from federation.directory import (
    AccountBlocked,
    AccountState,
    DirectoryUnavailable,
    DirectoryUser,
    PasswordExpired,
    PasswordRefused,
    UserDirectory,
)
from federation.ldap_options import LdapOptions
from federation.ldap_pool import Connection, LdapPool, drop, reason
from federation.ldap_states import (
    MUST_CHANGE,
    STATE_ATTRIBUTES,
    entry_state,
    must_change_after,
    policy_request,
    refused_bind,
    unicode_pwd_change,
    wrong_current_password,
)

log = logging.getLogger("gatehouse.directory")
PEOPLE_PAGE = 500  # entries per page when listing everyone (AD answers 1,000 at most)


class LdapUser(DirectoryUser):
    """A person as the directory has them, with their entry's DN (to bind as them) and what
    their entry says of the account (federation/ldap_states.py), checked once they bind."""

    dn: str
    blocked: AccountState | None = None


class LdapDirectory(UserDirectory):
    """People of an LDAP directory (see the module's docstring)."""

    Options = LdapOptions

    def __init__(self, options: LdapOptions) -> None:
        super().__init__(options)
        self.settings = options
        self._pool = LdapPool(options)

    # -- the directory interface

    async def look_up(self, login: str) -> DirectoryUser | None:
        if not login:
            return None
        if self.settings.user_dn_template is not None:
            dn = self.settings.user_dn_template.replace("{login}", ldap.dn.escape_dn_chars(login))
            return LdapUser(id=f"dn:{dn}", username=login, email=None, dn=dn)  # read once bound
        return await self._pool.run(lambda c: self._find(c, login))

    async def verify_password(self, user: DirectoryUser, password: str) -> bool | DirectoryUser:
        if not password or not isinstance(user, LdapUser):
            return False  # never an unauthenticated bind (RFC 4513 §5.1.2)
        return await self._pool.run(lambda c: self._check(c, user, password))

    async def change_password(self, user: DirectoryUser, current: str, new: str) -> bool:
        if not current or not new or not isinstance(user, LdapUser):
            return False
        return await self._pool.run(lambda c: self._change(c, user, current, new))

    async def people(self) -> AsyncIterator[list[DirectoryUser]]:
        """Everyone `login_filter` finds with any login, in pages of `PEOPLE_PAGE` (Simple Paged
        Results, RFC 2696), on a connection of its own: a page's cookie is only good there."""
        conn = await self._pool.in_thread(self._pool.connect, [])
        cookie = b""
        try:
            while True:
                page, cookie = await self._pool.in_thread(self._people_page, conn, cookie)
                yield page
                if not cookie:
                    break
        except ldap.LDAPError as exc:
            raise DirectoryUnavailable(f"{conn.server}: {reason(exc)}") from exc
        finally:
            drop(conn)

    def close(self) -> None:
        self._pool.close()

    # -- in the pool's threads

    def _find(self, conn: Connection, login: str) -> LdapUser | None:
        self._bind_service(conn)
        query = self.settings.login_filter.replace("{login}", ldap.filter.escape_filter_chars(login))
        found = self._entries(conn, str(self.settings.user_base), ldap.SCOPE_SUBTREE, query)
        if len(found) != 1:
            if found:
                log.warning("user directory: %d entries match one login; none signs in", len(found))
            return None
        dn, attrs = found[0]
        return self._person(conn, dn, attrs)

    def _check(self, conn: Connection, user: LdapUser, password: str) -> bool | LdapUser:
        """Bind as the person (asking for their password policy's answer): False for a wrong
        password, `AccountBlocked` or `PasswordExpired` for what the directory says beyond it."""
        try:
            answer = conn.handle.simple_bind_s(user.dn, password, serverctrls=policy_request())
        except (ldap.INVALID_CREDENTIALS, ldap.INVALID_DN_SYNTAX, ldap.UNWILLING_TO_PERFORM) as exc:
            conn.bound_as = None  # a failed bind leaves the connection anonymous
            said = refused_bind(exc)
            if said == MUST_CHANGE:
                raise PasswordExpired(user) from None
            if said is not None:
                raise AccountBlocked("disabled" if user.blocked == "disabled" else said) from None
            return False
        conn.bound_as = user.dn
        person: LdapUser | None = user
        if self.settings.user_dn_template is not None:
            found = self._entries(conn, user.dn, ldap.SCOPE_BASE, "(objectClass=*)")
            person = self._person(conn, *found[0]) if found else None
        if person is None:
            return False
        if person.blocked is not None:
            raise AccountBlocked(person.blocked)
        if must_change_after(answer[3]):
            raise PasswordExpired(person)
        return True if person is user else person

    def _people_page(self, conn: Connection, cookie: bytes) -> tuple[list[DirectoryUser], bytes]:
        self._bind_service(conn)
        paging = SimplePagedResultsControl(True, size=PEOPLE_PAGE, cookie=cookie)
        everyone = self.settings.login_filter.replace("{login}", "*")
        msgid = conn.handle.search_ext(
            str(self.settings.user_base), ldap.SCOPE_SUBTREE, everyone, self._attributes(),
            serverctrls=[paging],
        )
        _, found, _, controls = conn.handle.result3(msgid, timeout=self.settings.timeout * 6)
        following = next((c.cookie for c in controls
                          if c.controlType == SimplePagedResultsControl.controlType), b"")
        people = [self._person(conn, dn, attrs) for dn, attrs in found if dn is not None]
        return [p for p in people if p is not None], following

    def _change(self, conn: Connection, user: LdapUser, current: str, new: str) -> bool:
        """Active Directory: the service account sends the user's change (old value out, new
        in); OpenLDAP: the person binds and asks for it (Password Modify, RFC 3062)."""
        try:
            if self.settings.active_directory:
                self._bind_service(conn)
                conn.handle.modify_s(user.dn, unicode_pwd_change(current, new))
            else:
                conn.handle.simple_bind_s(user.dn, current, serverctrls=policy_request())
                conn.bound_as = user.dn
                conn.handle.passwd_s(user.dn, current, new)
        except (ldap.INVALID_CREDENTIALS, ldap.CONSTRAINT_VIOLATION, ldap.UNWILLING_TO_PERFORM) as exc:
            if isinstance(exc, ldap.INVALID_CREDENTIALS):
                conn.bound_as = None
                said = refused_bind(exc)
                if said not in (None, MUST_CHANGE):
                    raise AccountBlocked(said) from None
            if wrong_current_password(exc):
                return False
            raise PasswordRefused(reason(exc)) from None
        return True

    def _bind_service(self, conn: Connection) -> None:
        wanted = self.settings.bind_dn
        if conn.bound_as == wanted and wanted is not None:
            return
        if wanted is None:
            if conn.bound_as is not None:
                conn.handle.simple_bind_s("", "")  # back to anonymous
                conn.bound_as = None
            return
        password = self.settings.bind_password
        assert password is not None
        try:
            conn.handle.simple_bind_s(wanted, password.get_secret_value())
        except ldap.INVALID_CREDENTIALS as exc:
            raise DirectoryUnavailable("the service account's bind was refused") from exc
        conn.bound_as = wanted

    def _attributes(self) -> list[str]:
        settings = self.settings
        wanted = [settings.stable_id, settings.username, settings.email_attribute,
                  *settings.claims.values(), *STATE_ATTRIBUTES[settings.flavor]]
        if settings.groups is not None and settings.groups.source == "member_of":
            wanted.append(settings.groups.member_of_attribute)
        return list(dict.fromkeys(wanted))

    def _entries(
        self, conn: Connection, base: str, scope: int, query: str, attrs: Sequence[str] | None = None
    ) -> list[tuple[str, dict[str, list[bytes]]]]:
        try:
            found = conn.handle.search_ext_s(
                base, scope, query, list(attrs or self._attributes()),
                timeout=self.settings.timeout, sizelimit=2 if attrs is None else 0,
            )
        except ldap.SIZELIMIT_EXCEEDED:
            return [("", {}), ("", {})]  # more than one: ambiguous
        except ldap.NO_SUCH_OBJECT:
            return []
        return [(dn, attrs_of) for dn, attrs_of in found if dn is not None]  # not referrals

    def _person(self, conn: Connection, dn: str, attrs: dict[str, list[bytes]]) -> LdapUser | None:
        settings = self.settings
        values = {name.lower(): found for name, found in attrs.items()}

        def first(name: str) -> str | None:
            found = values.get(name.lower())
            return _text(found[0]) if found else None

        raw_id = values.get(settings.stable_id.lower())
        username = first(settings.username)
        if not raw_id or not username:
            log.warning("user directory: %s has no %s or %s; it cannot sign in", dn,
                        settings.stable_id, settings.username)
            return None
        email = first(settings.email_attribute)
        return LdapUser(
            id=_stable_id(settings.stable_id, raw_id[0]), username=username, dn=dn, email=email,
            email_verified=bool(email) and settings.emails_verified,
            claims={claim: value for claim, attr in settings.claims.items()
                    if (value := first(attr)) is not None},
            groups=self._groups(conn, dn, username, values), blocked=entry_state(values),
        )

    def _groups(
        self, conn: Connection, dn: str, username: str, values: dict[str, list[bytes]]
    ) -> list[str]:
        groups = self.settings.groups
        if groups is None:
            return []
        if groups.source == "member_of":
            names = [_rdn_value(_text(v)) for v in values.get(groups.member_of_attribute.lower(), [])]
        else:
            self._bind_service(conn)
            query = groups.filter.replace("{dn}", ldap.filter.escape_filter_chars(dn)).replace(
                "{login}", ldap.filter.escape_filter_chars(username))
            found = self._entries(conn, str(groups.base), ldap.SCOPE_SUBTREE, query,
                                  [groups.name_attribute])
            names = [_text(a[groups.name_attribute][0]) if a.get(groups.name_attribute)
                     else _rdn_value(group_dn) for group_dn, a in found]
        return sorted({name for name in names if name})

    # -- connections

def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _stable_id(attribute: str, value: bytes) -> str:
    """The id as text: Active Directory's objectGUID is 16 bytes, little-endian in its first
    three fields (MS-DTYP §2.3.4), written as a GUID is."""
    if attribute.lower() == "objectguid" and len(value) == 16:
        return str(uuid.UUID(bytes_le=value))
    return _text(value)


def _rdn_value(dn: str) -> str:
    """A group's name from its DN: the value of its first RDN (`cn=Engineers,...` → Engineers)."""
    try:
        return str(ldap.dn.str2dn(dn)[0][0][1])
    except (ldap.DECODING_ERROR, IndexError):
        return ""
