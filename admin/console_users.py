"""The admin console's user pages: find a user, see their sign-in methods, sessions, consents
and grants, and act on them (the operations the admin API and the CLI share)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response, request, url_for

from admin import access, users, views
from admin.actors import AdminError
from admin.console_access import Operator, changing_operator, operator
from admin.paging import decode, next_cursor
from core import N_, ErrorPage
from oidc import see_other
from store import UserRecord
from ui import describe_device, render_page

blueprint = Blueprint("admin_users", __name__, template_folder="templates")
PAGE_SIZE = 25

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
}


@blueprint.get("/admin")
async def home() -> Response:
    return see_other(url_for("admin_users.list_users"))


@blueprint.get("/admin/users")
async def list_users() -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
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


async def _user(signed_in: Operator, user_id: str) -> UserRecord:
    try:
        return await users.find_user(signed_in.provider, user_id)
    except AdminError as exc:
        raise ErrorPage(N_("Page not found"), N_("Check the address, or go back and try again."),
                        status=404) from exc


@blueprint.get("/admin/users/<user_id>")
async def show_user(user_id: str) -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    provider = signed_in.provider
    user = await _user(signed_in, user_id)
    return await render_page(
        "admin/user.html", operator=signed_in, user=await views.user_detail(provider, user),
        sessions=[
            (s, describe_device(s.user_agent)) for s in await access.sessions_of(provider, user)
        ],
        consents=await access.consents_of(provider, user),
        grants=await access.grants_of(provider, user),
        notice=NOTICES.get(request.args.get("done", "")),
    )


Change = Callable[[Operator, UserRecord, dict[str, str]], Awaitable[Any]]


async def _change(user_id: str, done: str, change: Change) -> Response:
    """Post a change of the user's: back to their page, which says what was done."""
    page = url_for("admin_users.show_user", user_id=user_id)
    signed_in = await changing_operator(page)
    if isinstance(signed_in, Response):
        return signed_in
    user = await _user(signed_in, user_id)
    try:
        await change(signed_in, user, dict(request.view_args or {}))
    except AdminError as exc:
        raise ErrorPage(N_("That cannot be done"), exc.detail, status=exc.status,
                        link=(page, N_("Back to the user"))) from exc
    if done == "deleted":
        return see_other(url_for("admin_users.list_users", done=done))
    return see_other(url_for("admin_users.show_user", user_id=user_id, done=done))


@blueprint.post("/admin/users/<user_id>/disable")
async def disable(user_id: str) -> Response:
    return await _change(user_id, "disabled",
                         lambda op, user, _: users.disable_user(op.provider, op.actor, user))


@blueprint.post("/admin/users/<user_id>/enable")
async def enable(user_id: str) -> Response:
    return await _change(user_id, "enabled",
                         lambda op, user, _: users.enable_user(op.provider, op.actor, user))


@blueprint.post("/admin/users/<user_id>/unlock")
async def unlock(user_id: str) -> Response:
    return await _change(user_id, "unlocked",
                         lambda op, user, _: users.unlock_user(op.provider, op.actor, user))


@blueprint.post("/admin/users/<user_id>/send-password-reset")
async def send_password_reset(user_id: str) -> Response:
    return await _change(
        user_id, "password-reset-sent",
        lambda op, user, _: users.send_password_reset(op.provider, op.actor, user),
    )


@blueprint.post("/admin/users/<user_id>/reset-second-factors")
async def reset_second_factors(user_id: str) -> Response:
    return await _change(
        user_id, "second-factors-reset",
        lambda op, user, _: users.reset_second_factors(op.provider, op.actor, user),
    )


@blueprint.post("/admin/users/<user_id>/credentials/<credential_id>/remove")
async def remove_credential(user_id: str, credential_id: str) -> Response:
    return await _change(
        user_id, "credential-removed",
        lambda op, user, path: users.remove_credential(
            op.provider, op.actor, user, path["credential_id"]),
    )


@blueprint.post("/admin/users/<user_id>/sessions/end")
async def end_sessions(user_id: str) -> Response:
    return await _change(user_id, "sessions-ended",
                         lambda op, user, _: access.end_sessions(op.provider, op.actor, user))


@blueprint.post("/admin/users/<user_id>/sessions/<sid>/end")
async def end_session(user_id: str, sid: str) -> Response:
    return await _change(
        user_id, "sessions-ended",
        lambda op, user, path: access.end_sessions(op.provider, op.actor, user, path["sid"]),
    )


@blueprint.post("/admin/users/<user_id>/consents/<path:client_id>/revoke")
async def revoke_consent(user_id: str, client_id: str) -> Response:
    return await _change(
        user_id, "consent-revoked",
        lambda op, user, path: access.revoke_consent(
            op.provider, op.actor, user, path["client_id"]),
    )


@blueprint.post("/admin/users/<user_id>/grants/<grant_id>/revoke")
async def revoke_grant(user_id: str, grant_id: str) -> Response:
    return await _change(
        user_id, "grant-revoked",
        lambda op, user, path: access.revoke_grant(op.provider, op.actor, user, path["grant_id"]),
    )


@blueprint.post("/admin/users/<user_id>/delete")
async def delete(user_id: str) -> Response:
    return await _change(user_id, "deleted",
                         lambda op, user, _: users.delete_user(op.provider, op.actor, user))
