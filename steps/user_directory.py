"""How the `password` step uses an external user directory (federation/directory.py): one of
gatehouse.yaml's `directories` by name, or a class flows.yaml names as `package.module:ClassName`
(loaded here), and the local id of a person it vouches for.

A person the directory vouches for gets a local user record, created or refreshed at each sign-in,
whose id is derived from the directory's id (`local_user_id`).
"""

from __future__ import annotations

import hashlib

from federation import UserDirectory
from steps.dotted import NotLoadable, load_class
from store import DIRECTORY_ID_PREFIX

# Claims a local record takes from its own fields, never from the directory's claims.
RESERVED_CLAIMS = frozenset({"sub", "preferred_username", "email", "email_verified"})


class UnknownDirectory(LookupError):
    pass


def is_class_path(name: str) -> bool:
    """A class as `package.module:ClassName`, rather than the name of a configured directory."""
    return ":" in name


def resolve_directory_type(name: str) -> type[UserDirectory]:
    """The class a `directory` option names, as `package.module:ClassName`."""
    try:
        found = load_class(name, UserDirectory, "user directory")  # type: ignore[type-abstract]
    except NotLoadable as exc:
        raise UnknownDirectory(str(exc)) from exc
    missing = sorted(getattr(found, "__abstractmethods__", ()))
    if missing:
        raise UnknownDirectory(f"{name!r} does not implement {', '.join(missing)}")
    return found


def local_user_id(directory_name: str, directory_id: str) -> str:
    """The local id (the `sub`) of a directory's user: the same at every sign-in, different for
    the same id in another directory, and never one a local account could have."""
    digest = hashlib.sha256(f"{directory_name}\0{directory_id}".encode()).hexdigest()
    return f"{DIRECTORY_ID_PREFIX}{digest[:32]}"
