"""In-process user directories for the `password` step's tests, loaded by their dotted paths."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from federation.directory import DirectoryUnavailable, DirectoryUser, UserDirectory


class FakeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    realm: str = Field("corp", description="Shown nowhere: an option to get wrong in tests.")
    retries: int = Field(0, ge=0, le=3, description="Another one.")


@dataclass
class Person:
    user: DirectoryUser
    password: str


@dataclass
class Trouble:
    """What the directory does instead of answering: raise this, or hang."""

    error: Exception | None = None
    hang: bool = False


@dataclass
class FakeState:
    people: list[Person] = field(default_factory=list)
    trouble: Trouble | None = None
    calls: list[str] = field(default_factory=list)


class FakeDirectory(UserDirectory):
    """People kept in memory; a test reaches the instance the flows built to change them."""

    Options = FakeOptions

    def __init__(self, options: BaseModel) -> None:
        super().__init__(options)
        self.state = FakeState()

    def add(self, password: str, **user: object) -> DirectoryUser:
        person = Person(DirectoryUser.model_validate(user), password)
        self.state.people = [p for p in self.state.people if p.user.id != person.user.id]
        self.state.people.append(person)
        return person.user

    async def _trouble(self) -> None:
        trouble = self.state.trouble
        if trouble is not None and trouble.hang:
            await asyncio.sleep(3600)
        if trouble is not None and trouble.error is not None:
            raise trouble.error

    async def look_up(self, login: str) -> DirectoryUser | None:
        self.state.calls.append(f"look_up {login}")
        await self._trouble()
        wanted = login.casefold()
        return next(
            (p.user for p in self.state.people
             if wanted in (p.user.username.casefold(), (p.user.email or "").casefold())),
            None,
        )

    async def verify_password(self, user: DirectoryUser, password: str) -> bool:
        self.state.calls.append(f"verify_password {user.id}")
        await self._trouble()
        return any(p.user.id == user.id and p.password == password for p in self.state.people)


class BrokenDirectory(UserDirectory):
    """A directory that cannot even be built."""

    def __init__(self, options: BaseModel) -> None:
        raise RuntimeError("no configuration file at /etc/legacy.conf")

    async def look_up(self, login: str) -> DirectoryUser | None:
        raise DirectoryUnavailable("never built")

    async def verify_password(self, user: DirectoryUser, password: str) -> bool:
        raise DirectoryUnavailable("never built")


class Unfinished(UserDirectory):  # lacks verify_password, on purpose
    async def look_up(self, login: str) -> DirectoryUser | None:
        return None
