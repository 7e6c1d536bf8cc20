"""The admin console's user forms: a new user (with, when asked, a link to choose a password),
and a user's email, name, groups and other claims. The admin API's models check what is typed,
and its operations make the change, audited as every other."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from quart import Blueprint, Response, request, url_for

from admin import models, users
from admin.actors import AdminError
from admin.console_access import Operator, console_change, console_form_page
from admin.console_forms import field_errors, words
from admin.console_users import user_or_not_found
from core import N_
from oidc import see_other
from store import UserRecord
from ui import render_page

blueprint = Blueprint("admin_user_forms", __name__, template_folder="templates")
NOT_JSON = N_('Write the claims as a JSON object, like {"locale": "fr"}.')
NO_REMOVAL = N_("Enter an address: it can be changed here, not removed.")
NAME_APART = N_("Set the name in its own field, not among the other claims.")
NAME_LENGTH = 200


async def _form(
    template: str, signed_in: Operator, values: dict[str, Any], errors: dict[str, str],
    status: int = 200, **extra: Any,
) -> Response:
    return await render_page(template, status=status, operator=signed_in, values=values,
                             errors=errors, **extra)


async def _typed() -> dict[str, Any]:
    form = await request.form
    values: dict[str, Any] = {
        name: form.get(name, "").strip() for name in ("username", "email", "name", "groups")
    }
    values["claims"] = form.get("claims", "")
    values["email_verified"] = bool(form.get("email_verified"))
    values["send_link"] = bool(form.get("send_link"))
    return values


@blueprint.get("/admin/users/new")
@console_form_page
async def new_user(signed_in: Operator) -> Response:
    return await _form("admin/user_new.html", signed_in, {"send_link": True}, {})


@blueprint.post("/admin/users/new")
@console_change(lambda: url_for("admin_user_forms.new_user"))
async def create_user(signed_in: Operator) -> Response:
    values = await _typed()
    try:
        body = models.NewUser.model_validate({
            "username": values["username"], "email": values["email"] or None,
            "email_verified": values["email_verified"], "name": values["name"] or None,
            "groups": words(values["groups"]),
        })
        user = await users.create_user(
            signed_in.provider, signed_in.actor, body.username, body.email,
            body.email_verified, body.name, body.groups,
        )
    except ValidationError as exc:
        errors = field_errors(exc, {"username", "email", "name", "groups"})
        return await _form("admin/user_new.html", signed_in, values, errors, 422)
    except AdminError as exc:
        return await _form("admin/user_new.html", signed_in, values, {"page": exc.detail},
                           exc.status)
    done = "created"
    if values["send_link"] and user.email:
        try:
            await users.send_password_reset(signed_in.provider, signed_in.actor, user)
            done = "created-link-sent"
        except AdminError:
            done = "created-no-link"
    return see_other(url_for("admin_users.show_user", user_id=user.id, done=done))


def _shown(user: UserRecord) -> dict[str, Any]:
    """The form's values for `user` as stored."""
    others = {key: value for key, value in user.claims.items() if key != "name"}
    name = user.claims.get("name")
    return {
        "email": user.email or "", "email_verified": user.email_verified,
        "name": name if isinstance(name, str) else "", "groups": " ".join(user.groups),
        "claims": json.dumps(others, indent=2, ensure_ascii=False) if others else "",
    }


@blueprint.get("/admin/users/<user_id>/edit")
@console_form_page
async def edit_user(signed_in: Operator, user_id: str) -> Response:
    user = await user_or_not_found(signed_in, user_id)
    return await _form("admin/user_edit.html", signed_in, _shown(user), {}, user=user)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity would make tokens invalid JSON


def _claim_changes(user: UserRecord, name: str, typed: str) -> dict[str, Any]:
    """The claims to set (None: remove) for the name and other claims typed, as they differ
    from the user's; ValueError with the message to show when they cannot be."""
    try:
        wanted: Any = json.loads(typed, parse_constant=_no_constant) if typed.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise ValueError(NOT_JSON) from exc
    if not isinstance(wanted, dict):
        raise ValueError(NOT_JSON)
    if "name" in wanted:
        raise ValueError(NAME_APART)
    old = user.claims
    if name != _shown(user)["name"]:  # a name that is not a string stays unless changed
        wanted["name"] = name or None
    elif "name" in old:
        wanted["name"] = old["name"]
    removed = {key: None for key in old if key not in wanted}
    return {**removed, **{k: v for k, v in wanted.items() if old.get(k) != v}}


@blueprint.post("/admin/users/<user_id>/edit")
@console_change(lambda user_id: url_for("admin_user_forms.edit_user", user_id=user_id))
async def update_user(signed_in: Operator, user_id: str) -> Response:
    user = await user_or_not_found(signed_in, user_id)
    values = await _typed()
    again = ("admin/user_edit.html", signed_in, values)
    if user.email and not values["email"]:
        return await _form(*again, {"email": NO_REMOVAL}, 422, user=user)
    if len(values["name"]) > NAME_LENGTH:
        return await _form(*again, {"name": N_("A name has at most 200 characters.")}, 422,
                           user=user)
    try:
        claims = _claim_changes(user, values["name"], values["claims"])
    except ValueError as exc:
        return await _form(*again, {"claims": str(exc)}, 422, user=user)
    try:
        same_address = values["email"] == (user.email or "")  # a new one is not verified yet
        changes = models.UserChanges.model_validate({
            "email": values["email"] or None,
            "email_verified": values["email_verified"] if same_address else None,
            "groups": words(values["groups"]), "claims": claims,
        })
        await users.update_user(
            signed_in.provider, signed_in.actor, user, changes.email, changes.email_verified,
            None, changes.groups, changes.claims,
        )
    except ValidationError as exc:
        errors = field_errors(exc, {"email", "groups", "claims"})
        return await _form(*again, errors, 422, user=user)
    except AdminError as exc:
        return await _form(*again, {"page": exc.detail}, exc.status, user=user)
    return see_other(url_for("admin_users.show_user", user_id=user.id, done="updated"))
