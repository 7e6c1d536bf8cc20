"""Users from another system (`gatehouse users import`): one user a record, in JSON lines or CSV.

A record has `username` (required, without "@"), and optionally `id` (kept as the `sub`, so the
old system's clients keep knowing the user), `email`, `email_verified`, `groups`, the standard
claims of OIDC Core §5.1 (`name`, `given_name`, `phone_number`...), and `password_hash`, kept as
it is in any format the sign-in verifies (the caller says which: `known_hash`). A CSV file has a
header row of those names; `groups` is space-separated there, and `address` the formatted one.

As with `gatehouse import` (store/transfer.py), nothing is overwritten: a user whose id, username
or email the store has already is skipped, so importing twice adds nothing the second time. A
record that cannot be imported is reported with its line number.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from store.errors import DuplicateError
from store.records import DIRECTORY_ID_PREFIX, UserRecord
from store.repositories import Store
from store.transfer import ImportReport

FileFormat = Literal["jsonl", "csv"]
SUBJECT = re.compile(r"[\x21-\x7e]{1,255}")
# The fields of UserRecord itself; every other field of a record is a claim.
USER_FIELDS = frozenset({"id", "username", "email", "email_verified", "password_hash", "groups"})


class ImportedUser(BaseModel):
    """One record of the file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)

    id: str | None = None
    username: str = Field(min_length=1, max_length=254)
    email: str | None = Field(None, max_length=254)
    email_verified: bool = False
    password_hash: str | None = Field(None, max_length=1024)
    groups: list[str] = Field(default_factory=list)
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    middle_name: str | None = None
    nickname: str | None = None
    profile: str | None = None
    picture: str | None = None
    website: str | None = None
    gender: str | None = None
    birthdate: str | None = None
    zoneinfo: str | None = None
    locale: str | None = None
    phone_number: str | None = None
    phone_number_verified: bool | None = None
    address: dict[str, str] | None = None

    @field_validator("id")
    @classmethod
    def _subject(cls, subject: str | None) -> str | None:
        # OIDC Core §2: a `sub` is at most 255 ASCII characters (and spaces would be confusing).
        if subject is not None and not SUBJECT.fullmatch(subject):
            raise ValueError("an id is 1 to 255 ASCII letters, digits or signs, without spaces")
        if subject is not None and subject.startswith(DIRECTORY_ID_PREFIX):
            raise ValueError(f"ids starting with {DIRECTORY_ID_PREFIX} are a user directory's")
        return subject

    @field_validator("username")
    @classmethod
    def _no_at(cls, username: str) -> str:
        if "@" in username:
            raise ValueError("a username cannot contain @ (that is how emails are told apart)")
        return username

    @field_validator("email")
    @classmethod
    def _email(cls, email: str | None) -> str | None:
        if email is not None:
            try:
                validate_email(email, check_deliverability=False)
            except EmailNotValidError as exc:
                raise ValueError(str(exc)) from exc
        return email

    def unique_keys(self) -> list[str]:
        """What makes two users the same: the id, and the username or email in any case."""
        found = [f"username {self.username.lower()}"]
        if self.email:
            found.append(f"email {self.email.lower()}")
        if self.id:
            found.append(f"id {self.id}")
        return found

    def record(self, now: float) -> UserRecord:
        fields = self.model_dump(include=set(USER_FIELDS), exclude_none=True)
        fields.setdefault("id", secrets.token_urlsafe(16))
        claims = self.model_dump(exclude=set(USER_FIELDS), exclude_none=True)
        return UserRecord(**fields, claims=claims, created_at=now)


async def import_users(
    store: Store,
    lines: Iterable[str],
    file_format: FileFormat,
    known_hash: Callable[[str], bool],
    now: float,
    dry_run: bool = False,
) -> ImportReport:
    """Check every record, and add the good new users unless `dry_run` (which counts the same)."""
    report = ImportReport()
    first_seen: dict[str, int] = {}  # a key of `ImportedUser.unique_keys` -> its first line
    for number, fields in _records(lines, file_format):
        try:
            user = _user(fields, known_hash)
            again = next((key for key in user.unique_keys() if key in first_seen), None)
            if again:
                raise ValueError(f"the same {again.split()[0]} as line {first_seen[again]}")
        except ValueError as exc:
            report.problems.append(f"line {number}: {exc}")
            continue
        first_seen.update(dict.fromkeys(user.unique_keys(), number))
        if await _exists(store, user):
            report.present += 1
            continue
        if not dry_run:
            try:
                await store.users.add(user.record(now))
            except DuplicateError:  # taken since `_exists` looked
                report.present += 1
                continue
        report.imported["users"] += 1
    return report


def _user(fields: dict[str, Any] | str, known_hash: Callable[[str], bool]) -> ImportedUser:
    """The record's user; ValueError says why there is none."""
    if isinstance(fields, str):
        raise ValueError(fields)
    try:
        user = ImportedUser.model_validate(fields)
    except ValidationError as exc:
        raise ValueError("; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'record'}: "
            + error["msg"].removeprefix("Value error, ")
            for error in exc.errors()
        )) from None
    if user.password_hash and not known_hash(user.password_hash):
        raise ValueError("password_hash: not a format Gatehouse verifies (or malformed, or of a cost beyond its limits)")
    return user


async def _exists(store: Store, user: ImportedUser) -> bool:
    return bool(
        (user.id and await store.users.get(user.id))
        or await store.users.find_by_login(user.username)
        or (user.email and await store.users.find_by_login(user.email))
    )


def _records(
    lines: Iterable[str], file_format: FileFormat
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, the record's non-empty fields) for each record, or (line number, problem)."""
    if file_format == "jsonl":
        yield from _json_records(lines)
    else:
        yield from _csv_records(lines)


def _json_records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield number, f"not JSON: {exc}"
            continue
        if not isinstance(fields, dict):
            yield number, "not a JSON object"
            continue
        yield number, {name: value for name, value in fields.items() if value not in ("", None)}


def _csv_records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(lines)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    unknown = sorted(set(header) - set(ImportedUser.model_fields) - {""})  # "": a trailing comma
    if unknown or "username" not in header:
        problem = f"unknown columns {', '.join(unknown)}" if unknown else "no username column"
        yield reader.line_num, f"the header has {problem}: nothing read"
        return
    try:
        for row in reader:
            if len(row) > len(header):
                yield reader.line_num, f"{len(row)} cells, but the header names {len(header)}"
            elif any(cell.strip() for cell in row):
                yield reader.line_num, _csv_fields(dict(zip(header, row, strict=False)))
    except csv.Error as exc:
        yield reader.line_num, f"not CSV: {exc}"


def _csv_fields(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: cell for name, cell in row.items() if name and cell.strip()}
    if "groups" in fields:
        fields["groups"] = fields["groups"].split()
    if "address" in fields:
        fields["address"] = {"formatted": fields["address"]}
    return fields
