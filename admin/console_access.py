"""Who may use the admin console: a signed-in user of the configured group whose session
proved two factors (loa:2); a change also needs a valid form token and a recent sign-in."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from quart import Response, current_app, request

from admin.actors import Actor
from admin.config import admin_config
from admin.console_sign_in import TWO_FACTORS, sign_in
from core import N_, ErrorPage
from oidc import Provider, current_provider, current_session
from store import SessionRecord, UserRecord
from ui import check_form_token, form_token

PURPOSE = "admin"  # what the console's form tokens are bound to, besides the session


@dataclass(frozen=True)
class Operator:
    """The administrator using the console in this request."""

    provider: Provider
    session: SessionRecord
    user: UserRecord
    csrf_token: str

    @property
    def actor(self) -> Actor:
        return Actor("user", self.user.id)


def this_page() -> str:
    query = request.query_string.decode()
    return request.path + (f"?{query}" if query else "")


async def operator(back: str | None = None) -> Operator | Response:
    """The administrator signed in with two factors; else the response that signs them in
    (then returns to `back`, by default this page)."""
    provider = current_provider()
    back = back or this_page()
    session = await current_session(provider)
    user = await provider.store.users.get(session.subject) if session else None
    if session is None or user is None:
        return await sign_in(back)
    if session.acr != TWO_FACTORS:
        return await sign_in(back, session)  # a step-up: only the missing factor is asked
    if admin_config(current_app).group not in user.groups or user.disabled:
        raise ErrorPage(
            N_("This page is for administrators"),
            N_("Ask an administrator to add you to their group."),
            status=403, link=("/account", N_("Your account")),
        )
    return Operator(provider, session, user, form_token(provider, session, PURPOSE))


def _recent(signed_in: Operator) -> bool:
    """Whether the operator signed in within `reauth_seconds`."""
    age = signed_in.provider.clock() - signed_in.session.auth_time
    return age <= admin_config(current_app).reauth_seconds


async def changing_operator(back: str) -> Operator | Response:
    """The administrator posting a console form: its token checked, and their sign-in recent
    (`reauth_seconds`), else they sign in again with both factors and come back to `back`."""
    signed_in = await operator(back)
    if isinstance(signed_in, Response):
        return signed_in
    form = await request.form
    check_form_token(signed_in.provider, signed_in.session, PURPOSE, form.get("csrf_token"))
    if not _recent(signed_in):
        return await sign_in(back, again_as=signed_in.user.username)
    return signed_in


View = Callable[..., Awaitable[Response]]
Page = Callable[..., Awaitable[Response]]  # called with the operator, then the route's values


def console_page(page: Page) -> View:
    """A console page: `page(operator, **values)` once an administrator is signed in."""

    @functools.wraps(page)
    async def view(**values: Any) -> Response:
        signed_in = await operator()
        return signed_in if isinstance(signed_in, Response) else await page(signed_in, **values)

    return view


async def unless_recent(signed_in: Operator) -> Response | None:
    """None within the re-authentication window; else the response that signs the operator in
    again, then brings them back to this page."""
    if _recent(signed_in):
        return None
    return await sign_in(this_page(), again_as=signed_in.user.username)


def console_form_page(page: Page) -> View:
    """A page whose form changes something: shown only within the re-authentication window
    (else the operator signs in again first and comes back), so that what they type is not
    lost to a sign-in when they post it."""

    @functools.wraps(page)
    async def view(**values: Any) -> Response:
        signed_in = await operator()
        if isinstance(signed_in, Response):
            return signed_in
        return await unless_recent(signed_in) or await page(signed_in, **values)

    return view


def console_change(back: Callable[..., str]) -> Callable[[Page], View]:
    """A console form's post: `change(operator, **values)` once `changing_operator` allows it;
    `back(**values)` is the page the form is on."""

    def wrap(change: Page) -> View:
        @functools.wraps(change)
        async def view(**values: Any) -> Response:
            signed_in = await changing_operator(back(**values))
            if isinstance(signed_in, Response):
                return signed_in
            return await change(signed_in, **values)

        return view

    return wrap
