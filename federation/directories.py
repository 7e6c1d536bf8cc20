"""The user directories of gatehouse.yaml (`directories`), built once at start-up; each connects
on its first use. LDAP needs python-ldap, the `ldap` extra."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from federation.directory import UserDirectory
from federation.ldap_options import LdapOptions

log = logging.getLogger("gatehouse.directory")


def directories_for(configured: Mapping[str, LdapOptions]) -> dict[str, UserDirectory]:
    if not configured:
        return {}
    try:
        from federation.ldap_directory import LdapDirectory
    except ImportError as exc:
        raise ValueError(
            "an LDAP directory needs python-ldap: pip install 'gatehouse[ldap]'"
            " (docs/directories.md)"
        ) from exc
    for name, options in configured.items():
        for server in options.plain_servers:
            log.warning("directory %s: %s is plain LDAP; passwords cross it in clear (this"
                        " machine only)", name, server)
    return {name: LdapDirectory(options) for name, options in configured.items()}
