"""The hook for an external user directory (a legacy user service, LDAP, another database) that
the `password` step asks about logins it does not know.

A directory is a class with two methods, `look_up` and `verify_password`, named in flows.yaml as
`package.module:ClassName` (the `password` step's `directory` option). It declares its settings
as a pydantic model, `Options`, checked when flows.yaml loads (`directory_options`), and it is
built once per load with them: connect on first use, not in `__init__`, since `gatehouse flows
check` builds it too. A person the directory vouches for gets a local user record, created or
refreshed at each sign-in, whose id is derived from the directory's id (`local_user_id`).
"""

from __future__ import annotations

import builtins
import hashlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core import NoOptions
from steps.dotted import NotLoadable, load_class
from store.records import DIRECTORY_ID_PREFIX

# Claims a local record takes from its own fields, never from the directory's claims.
RESERVED_CLAIMS = frozenset({"sub", "preferred_username", "email", "email_verified"})


class DirectoryUser(BaseModel):
    """A person as the directory knows them. `id` is the directory's stable id for them (never
    reused, unchanged by renames); the rest is copied to the local record at each sign-in.
    A directory may subclass it to carry what `verify_password` needs (a DN, a realm)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=256)
    username: str = Field(min_length=1, max_length=254)
    email: str | None = Field(None, max_length=254)
    email_verified: bool = False
    claims: dict[str, Any] = Field(
        default_factory=dict, description="OpenID claims such as `name`, `given_name`, `locale`."
    )
    groups: list[str] = Field(default_factory=list)


class DirectoryUnavailable(Exception):
    """The directory cannot answer now (down, timed out, an answer that makes no sense). The
    step treats any exception from a directory this way; raising this one says it is expected."""


class UserDirectory(ABC):
    """Base class of directories: `Options` is the model of `directory_options`."""

    Options: ClassVar[builtins.type[BaseModel]] = NoOptions

    def __init__(self, options: BaseModel) -> None:
        self.options = options

    @abstractmethod
    async def look_up(self, login: str) -> DirectoryUser | None:
        """The person this login (a username or an email, as typed) names, or None."""

    @abstractmethod
    async def verify_password(self, user: DirectoryUser, password: str) -> bool:
        """Whether `password` is `user`'s (`user` is what `look_up` returned)."""


class UnknownDirectory(LookupError):
    pass


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
