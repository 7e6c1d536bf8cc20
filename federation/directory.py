"""What an external user directory (a legacy user service, LDAP, another database) implements, for
the `password` step to ask about logins it does not know: `UserDirectory`, the `DirectoryUser` it
answers with, `DirectoryUnavailable` when it cannot answer, and what it may say of an account
beyond yes and no (`AccountBlocked`, `PasswordExpired`, and `PasswordRefused` for a new one).

A directory is a class with two methods, `look_up` and `verify_password`, named in flows.yaml as
`package.module:ClassName` (the `password` step's `directory` option). It declares its settings
as a pydantic model, `Options`, checked when flows.yaml loads (`directory_options`), and it is
built once per load with them: connect on first use, not in `__init__`, since `gatehouse flows
check` builds it too. How the step loads one and keeps a local record of the people it vouches
for is in steps/user_directory.py.
"""

from __future__ import annotations

import builtins
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from core import NoOptions

# The name of a directory of gatehouse.yaml's `directories`, as the password step names it.
DIRECTORY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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


AccountState = Literal["disabled", "locked", "expired", "password_expired"]


class AccountBlocked(Exception):
    """The directory will not let this account sign in: it is `disabled`, `locked` or `expired`,
    or its password has expired and only an administrator can reset it (`password_expired`)."""

    def __init__(self, state: AccountState) -> None:
        super().__init__(state)
        self.state: AccountState = state


class PasswordExpired(Exception):
    """The password is right, but it has expired or must be changed before `user` signs in; a
    flow may let them change it (`change_password` with the same directory)."""

    def __init__(self, user: DirectoryUser) -> None:
        super().__init__(user.username)
        self.user = user


class PasswordRefused(Exception):
    """The directory refused a new password (too short or simple, used before, changed too
    recently); the message is the directory's own, for the log."""


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
    async def verify_password(self, user: DirectoryUser, password: str) -> bool | DirectoryUser:
        """Whether `password` is `user`'s (`user` is what `look_up` returned): True, False, or
        the person as the directory tells once the password proved them (when it shows a
        person only to themselves), which the sign-in then keeps instead of `user`."""

    async def change_password(self, user: DirectoryUser, current: str, new: str) -> bool:
        """Change `user`'s password from `current` to `new`: False when `current` is wrong,
        `PasswordRefused` when the directory will not take `new`. A directory that cannot
        change passwords leaves this out (the page then says to change it elsewhere)."""
        raise NotImplementedError

    def people(self) -> AsyncIterator[list[DirectoryUser]]:
        """Everyone the directory would sign in, a page at a time (for `gatehouse users
        sync`). A directory that cannot list its people leaves this out."""
        raise NotImplementedError

    @property
    def changes_passwords(self) -> bool:
        return type(self).change_password is not UserDirectory.change_password
