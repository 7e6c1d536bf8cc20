"""The admin API's documents: what it answers and what it accepts. The OpenAPI document is
generated from these models (admin/openapi.py), so what is written here is what is promised."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from oidc import ClientPolicy

T = TypeVar("T")
MAX_PAGE = 200
Login = Field(min_length=1, max_length=200, pattern=r"^[^@\s]+$")


class Strict(BaseModel):
    """A request body: fields the API does not know are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """Why a request failed (RFC 9457 problem details)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


class ItemPage(BaseModel, Generic[T]):
    """One page of a list; `next` is the cursor of the following page, absent on the last."""

    items: list[T]
    next: str | None = None


class PageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Items per page.")
    cursor: str | None = Field(None, max_length=500, description="`next` of the previous page.")


class UserQuery(PageQuery):
    q: str | None = Field(
        None, max_length=200, description="Part of the username, email address or name."
    )


class Credential(BaseModel):
    id: str
    kind: str = Field(
        description="totp, webauthn, recovery_codes, or reset_link (a password-reset link sent"
        " and not used yet)."
    )
    name: str
    created_at: float
    last_used_at: float | None = None


class User(BaseModel):
    id: str = Field(description="The stable `sub`.")
    username: str
    email: str | None = None
    email_verified: bool
    name: str | None = None
    groups: list[str]
    claims: dict[str, Any]
    has_password: bool
    in_directory: bool = Field(description="A user directory keeps this person's password.")
    disabled: bool
    disabled_at: float | None = None
    created_at: float


class UserDetail(User):
    credentials: list[Credential]
    linked_identities: list[str] = Field(description="The upstream providers linked.")
    blocked_until: float | None = Field(
        None, description="When throttling lets sign-in attempts through again, if blocked now."
    )


class NewUser(Strict):
    username: str = Login
    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    email_verified: bool = True
    name: str | None = Field(None, max_length=200)
    groups: list[str] = Field(default_factory=list, max_length=100)
    password: str | None = Field(
        None, max_length=1024, description="Checked against the sign-in pages' policy."
    )


class UserChanges(Strict):
    """Only the fields given change."""

    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    email_verified: bool | None = None
    name: str | None = Field(None, max_length=200)
    groups: list[str] | None = Field(None, max_length=100)
    claims: dict[str, Any] | None = Field(
        None, description="Claims to set (a null value removes one); `sub` cannot be set."
    )


class NewPassword(Strict):
    password: str = Field(min_length=1, max_length=1024)


class Session(BaseModel):
    sid: str
    created_at: float
    auth_time: float
    expires_at: float
    amr: list[str]
    acr: str
    user_agent: str | None = None
    address: str | None = None


class Consent(BaseModel):
    client_id: str
    scopes: list[str]
    updated_at: float


class Grant(BaseModel):
    id: str
    client_id: str
    scope: str
    sid: str | None = None
    created_at: float
    expires_at: float
    revoked: bool = Field(False, description="Revoked grants are listed until they expire.")


class Client(BaseModel):
    client_id: str
    client_name: str | None = None
    source: Literal["config", "registration", "admin", "builtin"] = Field(
        description="gatehouse.yaml (read-only here), self-registration, this API, or the server"
        " itself."
    )
    metadata: dict[str, Any] = Field(description="The client's metadata and policies.")
    has_secret: bool


class NewClient(ClientPolicy):
    """A client the admin API keeps (a secret is made for client_secret_* methods)."""


class ClientWithSecret(Client):
    client_secret: str | None = Field(None, description="Shown once; only its digest is kept.")


class Revoked(BaseModel):
    revoked: int = Field(description="How many grants were revoked.")


class AuditEvent(BaseModel):
    id: str
    at: float
    kind: str
    subject: str | None = None
    client_id: str | None = None
    address: str | None = None
    request_id: str | None = None
    details: dict[str, Any]


class AuditQuery(PageQuery):
    subject: str | None = Field(None, max_length=200)
    kind: str | None = Field(None, max_length=100)
    client_id: str | None = Field(None, max_length=200)
    since: float | None = Field(None, ge=0, description="Unix seconds, inclusive.")
    until: float | None = Field(None, ge=0, description="Unix seconds, exclusive.")


class AuditExportQuery(BaseModel):
    format: Literal["jsonl", "csv"] = "jsonl"
    subject: str | None = Field(None, max_length=200)
    kind: str | None = Field(None, max_length=100)
    client_id: str | None = Field(None, max_length=200)
    since: float | None = Field(None, ge=0)
    until: float | None = Field(None, ge=0)


class Flow(BaseModel):
    name: str
    description: str | None = None
    start: str
    steps: dict[str, str] = Field(description="Step name to step type.")
    clients: list[str] = Field(description="Clients whose `flow` names it.")


class RunSummary(BaseModel):
    id: str
    flow: str
    client_id: str
    subject: str | None = None
    state: str = Field(description="done, deny or error.")
    started_at: float
    finished_at: float


class Run(RunSummary):
    log: list[dict[str, Any]] = Field(
        description="Each step entered, the outcome it gave, the conditions tested and the branch"
        " taken."
    )


class Key(BaseModel):
    kid: str
    alg: str
    state: Literal["next", "signing", "verifying", "retired"]
    created_at: float
    activates_at: float
    retires_at: float | None = None


class KeyRotation(Strict):
    alg: str | None = Field(None, description="One algorithm; every one when absent.")
    activate_in: float = Field(
        900, ge=0, le=30 * 24 * 3600,
        description="Seconds the new key is published before it signs.",
    )


class UserPage(ItemPage[User]):
    pass


class AuditPage(ItemPage[AuditEvent]):
    pass


class RunPage(ItemPage[RunSummary]):
    pass


class SessionList(BaseModel):
    items: list[Session]


class ConsentList(BaseModel):
    items: list[Consent]


class GrantPage(ItemPage[Grant]):
    pass


class ClientPage(ItemPage[Client]):
    pass


class FlowList(BaseModel):
    items: list[Flow]


class KeyList(BaseModel):
    items: list[Key]


class ResetLinkSent(BaseModel):
    sent_to: str = Field(description="The address the link went to.")
    expires_at: float = Field(description="When the link stops working (it works once).")


class Ended(BaseModel):
    ended: int = Field(description="How many sessions ended.")
