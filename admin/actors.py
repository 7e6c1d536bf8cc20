"""Who makes an administrative change, and the errors an operation answers with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Actor:
    """An administrator: a client with an admin token, a console user, or the CLI's operator.
    Every change is audited with `label` as its `by` detail."""

    kind: Literal["client", "user", "cli"]
    id: str

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def client_id(self) -> str | None:
        """The client the change came through, for the audit record's `client_id`."""
        return self.id if self.kind == "client" else CONSOLE if self.kind == "user" else None


CONSOLE = "gatehouse-admin"  # the admin console's client id in audit records


class AdminError(Exception):
    """An operation that cannot be done: `status` as HTTP would say it, `title` in a few words,
    `detail` the reason (the API's problem document, the CLI's one-line reason)."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(AdminError):
    status = 404
    title = "Not found"


class Conflict(AdminError):
    status = 409
    title = "Conflict"


class Invalid(AdminError):
    status = 422
    title = "Unprocessable content"


class Unavailable(AdminError):
    status = 503
    title = "Service unavailable"
