"""The admin console's user pages: find a user, see their sign-in methods, sessions, consents
and grants, and act on them (the operations the admin API and the CLI share)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from quart import Blueprint, Response, request, url_for

from admin import access, users, views
from admin.actors import AdminError
from admin.console_access import Operator, View, console_change, console_page
from admin.paging import decode, next_cursor
from core import N_, ErrorPage, describe_device
from oidc import see_other
from store import UserRecord
from ui import render_page

blueprint = Blueprint("admin_users", __name__, template_folder="templates")
Change = Callable[..., Awaitable[object]]  # (operator, user, **the route's other values)
PAGE_SIZE = 25
GRANTS_SHOWN = 50

NOTICES = {
    "disabled": N_("The account is disabled and its sessions are ended."),
    "enabled": N_("The account is enabled."),
    "unlocked": N_("Sign-in attempts are let through again."),
    "second-factors-reset": N_("Every second factor was removed. The user sets one up at their next sign-in."),
    "credential-removed": N_("The sign-in method was removed."),
    "password-reset-sent": N_("A link to choose a new password was emailed to the user. It works once, for a day."),
    "sessions-ended": N_("The sessions were ended, and the applications told."),
    "consent-revoked": N_("The consent was revoked."),
    "grant-revoked": N_("The grant was revoked, with its tokens."),
    "deleted": N_("The user was deleted."),
    "created": N_("The user was created."),
    "created-link-sent": N_("The user was created, and emailed a link to choose their password."),
    "created-no-link": N_("The user was created, but no link could be emailed. Try “Send a password-reset link” again."),
    "updated": N_("The changes were saved."),
}


@blueprint.get("/admin")
async def home() -> Response:
    return see_other(url_for("admin_users.list_users"))


@blueprint.get("/admin/users")
@console_page
async def list_users(signed_in: Operator) -> Response:
    store = signed_in.provider.store
    q = request.args.get("q", "").strip()[:200]
    try:
        found = await store.users.search(q or None, PAGE_SIZE, decode(request.args.get("cursor")))
    except AdminError:
        found = []
    following = next_cursor(found, PAGE_SIZE, store.users.cursor)
    return await render_page(
        "admin/users.html", operator=signed_in, q=q, found=[views.user(u) for u in found],
        following=url_for("admin_users.list_users", q=q, cursor=following) if following else None,
        notice=NOTICES.get(request.args.get("done", "")),
    )


async def user_or_not_found(signed_in: Operator, user_id: str) -> UserRecord:
    """The user `user_id` names (an id or a login), else a "Page not found" page."""
    try:
        return await users.find_user(signed_in.provider, user_id)
    except AdminError as exc:
        raise ErrorPage(N_("Page not found"), N_("Check the address, or go back and try again."),
                        status=404) from exc


@blueprint.get("/admin/users/<user_id>")
@console_page
async def show_user(signed_in: Operator, user_id: str) -> Response:
    provider = signed_in.provider
    user = await user_or_not_found(signed_in, user_id)
    return await render_page(
        "admin/user.html", operator=signed_in, user=await views.user_detail(provider, user),
        sessions=[
            (s, describe_device(s.user_agent)) for s in await access.sessions_of(provider, user)
        ],
        consents=await access.consents_of(provider, user),
        grants=await access.grants_page(provider, user, GRANTS_SHOWN, None),
        grants_shown=GRANTS_SHOWN,
        links=provider.engine.flows.spec.reset_link_flow is not None,
        notice=NOTICES.get(request.args.get("done", "")),
    )


def _back(user_id: str, **_: str) -> str:
    return url_for("admin_users.show_user", user_id=user_id)


def _user_change(done: str) -> Callable[[Change], View]:
    """A post that changes a user (`change(operator, user, **values)`, an admin operation),
    then shows their page, which says what was `done`."""

    def wrap(change: Change) -> View:
        @console_change(_back)
        @functools.wraps(change)
        async def view(signed_in: Operator, user_id: str, **values: str) -> Response:
            user = await user_or_not_found(signed_in, user_id)
            try:
                await change(signed_in, user, **values)
            except AdminError as exc:
                raise ErrorPage(N_("That cannot be done"), exc.detail, status=exc.status,
                                link=(_back(user_id), N_("Back to the user"))) from exc
            if done == "deleted":
                return see_other(url_for("admin_users.list_users", done=done))
            return see_other(url_for("admin_users.show_user", user_id=user_id, done=done))

        return view

    return wrap


@blueprint.post("/admin/users/<user_id>/disable")
@_user_change("disabled")
async def disable(op: Operator, user: UserRecord) -> None:
    await users.disable_user(op.provider, op.actor, user)


@blueprint.post("/admin/users/<user_id>/enable")
@_user_change("enabled")
async def enable(op: Operator, user: UserRecord) -> None:
    await users.enable_user(op.provider, op.actor, user)


@blueprint.post("/admin/users/<user_id>/unlock")
@_user_change("unlocked")
async def unlock(op: Operator, user: UserRecord) -> None:
    await users.unlock_user(op.provider, op.actor, user)


@blueprint.post("/admin/users/<user_id>/send-password-reset")
@_user_change("password-reset-sent")
async def send_password_reset(op: Operator, user: UserRecord) -> None:
    await users.send_password_reset(op.provider, op.actor, user)


@blueprint.post("/admin/users/<user_id>/reset-second-factors")
@_user_change("second-factors-reset")
async def reset_second_factors(op: Operator, user: UserRecord) -> None:
    await users.reset_second_factors(op.provider, op.actor, user)


@blueprint.post("/admin/users/<user_id>/credentials/<credential_id>/remove")
@_user_change("credential-removed")
async def remove_credential(op: Operator, user: UserRecord, credential_id: str) -> None:
    await users.remove_credential(op.provider, op.actor, user, credential_id)


@blueprint.post("/admin/users/<user_id>/sessions/end")
@_user_change("sessions-ended")
async def end_sessions(op: Operator, user: UserRecord) -> None:
    await access.end_sessions(op.provider, op.actor, user)


@blueprint.post("/admin/users/<user_id>/sessions/<sid>/end")
@_user_change("sessions-ended")
async def end_session(op: Operator, user: UserRecord, sid: str) -> None:
    await access.end_sessions(op.provider, op.actor, user, sid)


@blueprint.post("/admin/users/<user_id>/consents/<path:client_id>/revoke")
@_user_change("consent-revoked")
async def revoke_consent(op: Operator, user: UserRecord, client_id: str) -> None:
    await access.revoke_consent(op.provider, op.actor, user, client_id)


@blueprint.post("/admin/users/<user_id>/grants/<grant_id>/revoke")
@_user_change("grant-revoked")
async def revoke_grant(op: Operator, user: UserRecord, grant_id: str) -> None:
    await access.revoke_grant(op.provider, op.actor, user, grant_id)


@blueprint.post("/admin/users/<user_id>/delete")
@_user_change("deleted")
async def delete(op: Operator, user: UserRecord) -> None:
    await users.delete_user(op.provider, op.actor, user)
