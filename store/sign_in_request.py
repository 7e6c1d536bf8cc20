"""The sign-in request a flow run serves, in no protocol's words.

The engine owns it (`engine.sign_in_request` is where the other rooms take it from); it is
defined here, below the engine, because a run is a stored document that holds it and steps read
it. Each way in (the authorize endpoint, the account page...) maps its own request onto it, and
names in `finish` the completion that answers when the run ends.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Prompt(StrEnum):
    """What the requester asks of the sign-in (OIDC Core §3.1.2.1 `prompt`; `create` from
    Initiating User Registration via OpenID Connect 1.0)."""

    NONE = "none"  # no page may be shown
    LOGIN = "login"  # sign in again, whatever session there is
    CONSENT = "consent"  # ask for consent, whatever was agreed before
    SELECT_ACCOUNT = "select_account"  # let the person pick the account
    CREATE = "create"  # offer to create an account


class Display(StrEnum):
    """How the requester shows the pages (OIDC Core §3.1.2.1 `display`)."""

    PAGE = "page"
    POPUP = "popup"
    TOUCH = "touch"
    WAP = "wap"


class Finish(BaseModel):
    """How the run finishes: the kind of completion that answers when it ends, and that
    completion's own data (the authorize request to answer, the account action to report...).
    Only the completion reads `data`; flows and steps never do."""

    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


class SignInRequest(BaseModel):
    """Who asks for a sign-in and what must be true of it; conditions and steps read these
    fields, never a request parameter."""

    client_id: str
    scopes: list[str] = Field(default_factory=list)
    # The claims asked for one by one, by where they go (`id_token`, `userinfo`; OIDC Core §5.5).
    claims: dict[str, list[str]] = Field(default_factory=dict)
    acr_values: list[str] = Field(default_factory=list)  # wanted, most preferred first
    max_age: int | None = None  # seconds a sign-in may be old
    prompt: set[Prompt] = Field(default_factory=set)
    login_hint: str | None = None
    ui_locales: list[str] = Field(default_factory=list)  # most preferred first
    display: Display | None = None
    finish: Finish
