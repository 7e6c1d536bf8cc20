"""Federation: Gatehouse as a relying party of upstream OpenID providers ("Sign in with ..."),
and the user directories (LDAP, HTTP) that the password step asks about people.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from federation.config import UpstreamProviderSettings, on_this_machine
from federation.directories import directories_for
from federation.directory import (
    DIRECTORY_NAME,
    AccountBlocked,
    AccountState,
    DirectoryUnavailable,
    DirectoryUser,
    PasswordExpired,
    PasswordRefused,
    UserDirectory,
)
from federation.ldap_options import LdapGroups, LdapOptions
from federation.providers import upstreams_for
from federation.upstream import Attempt, Upstream, UpstreamError, UpstreamIdentity

__all__ = [
    "DIRECTORY_NAME",
    "AccountBlocked",
    "AccountState",
    "PasswordExpired",
    "PasswordRefused",
    "Attempt",
    "DirectoryUnavailable",
    "DirectoryUser",
    "LdapGroups",
    "LdapOptions",
    "Upstream",
    "UpstreamError",
    "UpstreamIdentity",
    "UpstreamProviderSettings",
    "UserDirectory",
    "directories_for",
    "on_this_machine",
    "upstreams_for",
]
