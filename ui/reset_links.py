"""Password-reset links that operators send (admin console, API, CLI): one email with a link that
works once, for a day, and starts the flow `reset_link_flow` names in flows.yaml on the account
of the person it went to. That flow chooses the new password, signs in with it and asks for the
second factor the account has: the link proves the mailbox, not the person.

The link's token is kept only as the id of a credential of kind `reset_link` (its SHA-256), with
when it expires and the address it was sent to; a new link replaces the earlier ones, and an
operator removes a pending one as any credential. Opening the link changes nothing (a mail
scanner that fetches it does not use it up): its page posts the token back with a CSRF token
bound to this browser's cookie, and that post uses the link.
"""

from __future__ import annotations

import secrets

from quart import Blueprint, Response, request, url_for

from core import N_, ErrorPage, digest
from mail import Mail
from observe import audit
from oidc import Provider, browser_binding, current_provider, set_browser_cookie
from steps import unlock
from store import CredentialRecord, UserRecord
from ui.account_sign_in import CLIENT_ID, start_reset
from ui.form_tokens import browser_form_token, check_browser_form_token
from ui.pages import render_page

KIND = "reset_link"
LIFETIME = 24 * 3600
PATH = "/account/reset-password"
PURPOSE = "reset-link"
SUBJECT = "Choose a new Gatehouse password"
TEXT = (
    "An administrator asked that you choose a new password for your account {login}.\n\n"
    "Open this link to choose it:\n{link}\n\n"
    "The link works once, for 24 hours. If you did not expect this, ignore this email: your"
    " password stays as it is.\n"
)

blueprint = Blueprint("reset_link", __name__)


class CannotSend(Exception):
    """No link can go to this user; the message says why."""


def why_not(provider: Provider, user: UserRecord) -> str | None:
    """Why no reset link can be sent to `user` (None: one can)."""
    if provider.engine.flows.spec.reset_link_flow is None:
        return "flows.yaml names no reset_link_flow"
    if not user.email:
        return "the user has no email address"
    if user.in_directory:
        return "the user's password is kept by their user directory"
    if user.disabled:
        return "the user is disabled"
    return None


async def send_reset_link(provider: Provider, user: UserRecord) -> float:
    """Mail `user` a new link (their earlier ones stop working); when it expires. Raises
    `CannotSend`, or `MailError` when the mail could not be sent (then no link is kept)."""
    if reason := why_not(provider, user):
        raise CannotSend(reason)
    assert user.email is not None
    store, now = provider.store, provider.clock()
    token = secrets.token_urlsafe(32)
    link = CredentialRecord(
        id=digest(token), user_id=user.id, kind=KIND, name="Password reset link",
        data={"expires_at": now + LIFETIME, "email": user.email}, created_at=now,
    )
    await store.credentials.add(link)
    text = TEXT.format(login=user.username, link=provider.url(f"{PATH}?token={token}"))
    try:
        await provider.engine.services.mailer.send(Mail(to=user.email, subject=SUBJECT, text=text))
    except Exception:
        await store.credentials.delete(link.id)  # the earlier link, if any, still works
        raise
    await cancel_reset_links(provider, user.id, keep=link.id)
    return now + LIFETIME


async def cancel_reset_links(provider: Provider, user_id: str, keep: str | None = None) -> int:
    """Make the user's pending links stop working (but `keep`); how many there were."""
    cancelled = 0
    for old in await provider.store.credentials.for_user(user_id):
        if old.kind == KIND and old.id != keep:
            cancelled += await provider.store.credentials.delete(old.id)
    return cancelled


async def _pending(provider: Provider, token: str) -> tuple[CredentialRecord, UserRecord]:
    """The unused, unexpired link `token` stands for, and its user; else an error page."""
    link = await provider.store.credentials.get(digest(token)) if 20 <= len(token) <= 100 else None
    user = await provider.store.users.get(link.user_id) if link and link.kind == KIND else None
    if (
        link is None or user is None or why_not(provider, user) is not None
        or provider.clock() >= float(link.data.get("expires_at", 0))
        or str(link.data.get("email", "")).casefold() != (user.email or "").casefold()
    ):
        raise _no_longer_works()
    return link, user


def _no_longer_works() -> ErrorPage:
    return ErrorPage(
        N_("This link no longer works"),
        N_("A password-reset link works once, for a day. Ask for a new one, or choose"
           " “Forgot your password?” when you sign in."),
        status=410, link=(url_for("account.page"), N_("Sign in")),
    )


@blueprint.get(PATH)
async def show() -> Response:
    provider = current_provider()
    token = request.args.get("token", "")
    _, user = await _pending(provider, token)
    browser_hash, new_cookie = browser_binding(provider, request)
    response = await render_page(
        "account/reset_link.html", login=user.username, token=token,
        csrf_token=browser_form_token(provider, browser_hash, PURPOSE),
    )
    if new_cookie:
        set_browser_cookie(provider, response, new_cookie)
    return response


@blueprint.post(PATH)
async def use() -> Response:
    """Use the link up, then run the reset flow on its account, whose address it proved."""
    provider = current_provider()
    form = await request.form
    browser_hash, _ = browser_binding(provider, request)
    check_browser_form_token(provider, browser_hash, PURPOSE, form.get("csrf_token"))
    link, _ = await _pending(provider, form.get("token", ""))
    if not await provider.store.credentials.delete(link.id):  # two posts: one wins
        raise _no_longer_works()
    # The user as stored now: a change made meanwhile (a disable...) is not written over.
    user = await provider.store.users.get(link.user_id)
    if user is None or why_not(provider, user) is not None:
        raise _no_longer_works()
    user.email_verified = True
    await provider.store.users.update(user)
    await unlock(provider.store, user.id)  # whoever was guessing, the owner is back in
    await audit(provider.store, "password_reset_link_used", subject=user.id, client_id=CLIENT_ID)
    flow = provider.engine.flows.spec.reset_link_flow
    assert flow is not None  # `_pending` checked
    return await start_reset(user.id, flow)
