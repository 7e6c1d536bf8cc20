"""The settings of an LDAP directory (OpenLDAP or Active Directory), one entry of gatehouse.yaml's
`directories` (docs/directories.md). Checked when the config loads, without python-ldap: the
directory itself (federation/ldap_directory.py) needs it only when it is built."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, FilePath, SecretStr, model_validator

LOOPBACK_NAMES = frozenset({"localhost"})


def on_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LdapGroups(BaseModel):
    """Where a user's groups come from: the user's `memberOf` values, or a search of groups."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["member_of", "search"] = Field(
        "member_of",
        description="member_of: the group DNs in the user's `member_of_attribute` (OpenLDAP's"
        " memberof overlay, Active Directory); search: the groups `filter` finds under `base`.",
    )
    member_of_attribute: str = Field(
        "memberOf", min_length=1, description="The attribute that lists a user's groups.",
    )
    base: str | None = Field(None, description="Where groups are searched (source: search).")
    filter: str = Field(
        "(member={dn})",
        description="Groups of the user: `{dn}` is the user's DN, `{login}` their username, both"
        " escaped (RFC 4515). On Active Directory, `(member:1.2.840.113556.1.4.1941:={dn})`"
        " (LDAP_MATCHING_RULE_IN_CHAIN) also finds the groups of their groups.",
    )
    name_attribute: str = Field("cn", min_length=1, description="A group's name in a search.")

    @model_validator(mode="after")
    def _searched_somewhere(self) -> LdapGroups:
        if self.source == "search" and not self.base:
            raise ValueError("a group search needs a base")
        if self.source == "search" and "{dn}" not in self.filter and "{login}" not in self.filter:
            raise ValueError("the group filter must hold {dn} or {login}")
        return self


class LdapOptions(BaseModel):
    """One LDAP directory: where it is, how a person is found and checked, what they are."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["ldap"] = Field(description="ldap.")
    flavor: Literal["openldap", "active_directory"] = Field(
        "openldap",
        description="openldap, or active_directory: the defaults of the attributes below, and how"
        " account states and password changes are read and made.",
    )
    servers: list[str] = Field(
        min_length=1,
        description="ldaps:// or ldap:// URLs, tried in order: the next one when a server cannot"
        " be reached (failover).",
    )
    start_tls: bool = Field(False, description="Upgrade ldap:// connections with StartTLS.")
    ca_file: FilePath | None = Field(
        None, description="The CA certificates (PEM) that the servers' certificates must chain to;"
        " unset: the system's.",
    )
    timeout: float = Field(5.0, gt=0, le=30, description="Seconds for connecting and each answer.")
    pool_size: int = Field(4, ge=1, le=64, description="Connections kept open, one per thread.")
    bind_dn: str | None = Field(
        None, description="The service account that searches for people (search-then-bind).",
    )
    bind_password: SecretStr | None = Field(None, description="The service account's password.")
    user_base: str | None = Field(None, description="Where people are searched.")
    user_filter: str | None = Field(
        None,
        description="Finds a person from what they typed (`{login}`, escaped per RFC 4515);"
        " default: `(|(uid={login})(mail={login}))`, or `(&(objectCategory=person)"
        "(objectClass=user)(|(sAMAccountName={login})(userPrincipalName={login})(mail={login})))`"
        " on Active Directory.",
    )
    user_dn_template: str | None = Field(
        None,
        description="Instead of a search, bind directly as this DN, `{login}` escaped per RFC 4514"
        " (for example `uid={login},ou=people,dc=example,dc=com`); the person's entry is then"
        " read with their own rights.",
    )
    id_attribute: str | None = Field(
        None,
        description="A stable id that never changes or is reused, which becomes the `sub`:"
        " entryUUID (OpenLDAP's default) or objectGUID (Active Directory's). Never the DN.",
    )
    username_attribute: str | None = Field(
        None, description="uid (OpenLDAP's default) or sAMAccountName (Active Directory's).",
    )
    email_attribute: str = Field("mail", description="The attribute of the email address.")
    emails_verified: bool = Field(
        True, description="The directory's addresses are set by the organisation: verified.",
    )
    claims: dict[str, str] = Field(
        default_factory=lambda: {"name": "cn", "given_name": "givenName", "family_name": "sn"},
        description="OpenID claims and the attributes they come from.",
    )
    groups: LdapGroups | None = Field(
        default_factory=lambda: LdapGroups.model_validate({}),
        description="Where groups come from (the table below; by default each person's"
        " memberOf); null: no groups.",
    )

    @model_validator(mode="after")
    def _complete(self) -> LdapOptions:
        for server in self.servers:
            scheme = urlsplit(server).scheme
            if scheme not in ("ldap", "ldaps"):
                raise ValueError(f"{server}: an LDAP server URL starts with ldaps:// or ldap://")
            if scheme == "ldap" and not self.start_tls and not on_loopback(server):
                raise ValueError(
                    f"{server}: passwords would cross the network in clear; use ldaps://,"
                    " start_tls: true, or a server on this machine"
                )
        if (self.user_base is None) == (self.user_dn_template is None):
            raise ValueError("give either user_base (search-then-bind) or user_dn_template")
        if self.user_dn_template is not None and "{login}" not in self.user_dn_template:
            raise ValueError("user_dn_template must hold {login}")
        if self.user_filter is not None and "{login}" not in self.user_filter:
            raise ValueError("user_filter must hold {login}")
        if (self.bind_dn is None) != (self.bind_password is None):
            raise ValueError("bind_dn and bind_password go together")
        return self

    @property
    def active_directory(self) -> bool:
        return self.flavor == "active_directory"

    @property
    def login_filter(self) -> str:
        if self.user_filter is not None:
            return self.user_filter
        if self.active_directory:
            return ("(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={login})"
                    "(userPrincipalName={login})(mail={login})))")
        return "(|(uid={login})(mail={login}))"

    @property
    def stable_id(self) -> str:
        return self.id_attribute or ("objectGUID" if self.active_directory else "entryUUID")

    @property
    def username(self) -> str:
        return self.username_attribute or ("sAMAccountName" if self.active_directory else "uid")

    @property
    def plain_servers(self) -> list[str]:
        """Servers that passwords reach in clear (allowed on this machine only)."""
        return [s for s in self.servers if urlsplit(s).scheme == "ldap" and not self.start_tls]
