"""The admin console's client pages: every client with where it comes from; those the admin API
keeps created, changed, given a new secret and deleted (a registered one deleted too); any
client's tokens revoked. The form sets the metadata most clients need; what it does not show
(keys, signing algorithms, policies...) is kept as it was, and set with the API or the CLI."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from quart import Blueprint, Response, request, url_for

from admin import clients, views
from admin.actors import AdminError
from admin.console_access import (
    Operator,
    console_change,
    console_form_page,
    console_page,
    unless_recent,
)
from admin.console_forms import field_errors, lines, words
from admin.paging import decode, next_cursor
from core import N_, ErrorPage
from oidc import AUTH_METHODS_SUPPORTED, GRANT_TYPES_SUPPORTED, ClientPolicy, see_other
from store import ClientRecord
from ui import render_page

blueprint = Blueprint("admin_clients", __name__, template_folder="templates")
PAGE_SIZE = 50
EDITABLE = frozenset({"admin"})  # the sources whose clients the console changes
DELETABLE = frozenset({"admin", "registration"})
TEXT_FIELDS = (
    "client_id", "client_name", "redirect_uris", "post_logout_redirect_uris",
    "token_endpoint_auth_method", "jwks_uri", "scope", "flow", "tags", "access_token_format",
    "backchannel_logout_uri",
)
FORM_FIELDS = {*TEXT_FIELDS, "grant_types", "require_consent"}

NOTICES = {
    "tokens-revoked": N_("The client's grants were revoked: its refresh tokens no longer work."),
    "created": N_("The client was created."),
    "updated": N_("The changes were saved."),
    "deleted": N_("The client was deleted, and its grants revoked."),
}


async def _client(signed_in: Operator, client_id: str) -> ClientRecord:
    try:
        return await clients.find_client(signed_in.provider, client_id)
    except AdminError as exc:
        raise ErrorPage(N_("Page not found"), exc.detail, status=404) from exc


@blueprint.get("/admin/clients")
@console_page
async def list_clients(signed_in: Operator) -> Response:
    provider = signed_in.provider
    try:
        found = await clients.clients_page(provider, PAGE_SIZE, decode(request.args.get("cursor")))
    except AdminError:
        found = []  # a cursor this console did not make
    following = next_cursor(found, PAGE_SIZE, provider.store.clients.cursor)
    return await render_page(
        "admin/clients.html", operator=signed_in, found=[views.client(c) for c in found],
        following=url_for("admin_clients.list_clients", cursor=following) if following else None,
        notice=NOTICES.get(request.args.get("done", "")),
    )


def _policy_values(record: ClientRecord | None) -> dict[str, Any]:
    """The client's metadata and policies as the admin API sets them ({} for a new one)."""
    if record is None:
        return {}
    return {k: v for k, v in record.model_dump().items() if k in ClientPolicy.model_fields}


def _form_values(policy: dict[str, Any]) -> dict[str, Any]:
    """What the form shows for `policy` (a new client's defaults when empty)."""
    defaults = ClientPolicy.model_construct(**{"client_id": "", **policy})  # stored valid
    return {
        "client_id": policy.get("client_id", ""),
        "client_name": defaults.client_name or "",
        "redirect_uris": "\n".join(defaults.redirect_uris),
        "post_logout_redirect_uris": "\n".join(defaults.post_logout_redirect_uris),
        "grant_types": defaults.grant_types,
        "token_endpoint_auth_method": defaults.token_endpoint_auth_method,
        "jwks_uri": defaults.jwks_uri or "",
        "scope": defaults.scope,
        "flow": defaults.flow or "",
        "tags": " ".join(defaults.tags),
        "require_consent": defaults.require_consent,
        "access_token_format": defaults.access_token_format,
        "backchannel_logout_uri": defaults.backchannel_logout_uri or "",
    }


async def _typed() -> dict[str, Any]:
    form = await request.form
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    values["grant_types"] = [g for g in form.getlist("grant_types") if g in GRANT_TYPES_SUPPORTED]
    values["require_consent"] = bool(form.get("require_consent"))
    return values


def _policy(values: dict[str, Any], was: dict[str, Any]) -> ClientPolicy:
    """The policy of the form's `values` over what the client had (`was`)."""
    grants = values["grant_types"]
    return ClientPolicy.model_validate({
        **was,
        "client_id": values["client_id"] or was.get("client_id", ""),
        "client_name": values["client_name"] or None,
        "redirect_uris": lines(values["redirect_uris"]),
        "post_logout_redirect_uris": lines(values["post_logout_redirect_uris"]),
        "grant_types": grants,
        "response_types": ["code"] if "authorization_code" in grants else [],
        "token_endpoint_auth_method": values["token_endpoint_auth_method"],
        "jwks_uri": values["jwks_uri"] or None,
        "scope": " ".join(words(values["scope"])),
        "flow": values["flow"] or None,
        "tags": words(values["tags"]),
        "require_consent": values["require_consent"],
        "access_token_format": values["access_token_format"] or "jwt",
        "backchannel_logout_uri": values["backchannel_logout_uri"] or None,
    })


async def _form(
    signed_in: Operator, values: dict[str, Any], errors: dict[str, str],
    client: ClientRecord | None = None, status: int = 200,
) -> Response:
    return await render_page(
        "admin/client_form.html", status=status, operator=signed_in, values=values,
        errors=errors, client=None, editing=client, grant_types=GRANT_TYPES_SUPPORTED,
        auth_methods=AUTH_METHODS_SUPPORTED,
        flows=sorted(signed_in.provider.engine.flows.flows),
        notice=NOTICES.get(request.args.get("done", "")),
    )


async def _secret_page(signed_in: Operator, client: ClientRecord, secret: str) -> Response:
    return await render_page("admin/client_secret.html", operator=signed_in,
                             shown=views.client(client), secret=secret)


@blueprint.get("/admin/clients/new")
@console_form_page
async def new_client(signed_in: Operator) -> Response:
    return await _form(signed_in, _form_values({}), {})


@blueprint.post("/admin/clients/new")
@console_change(lambda: url_for("admin_clients.new_client"))
async def create_client(signed_in: Operator) -> Response:
    values = await _typed()
    try:
        client, secret = await clients.create_client(
            signed_in.provider, signed_in.actor, _policy(values, {}))
    except ValidationError as exc:
        return await _form(signed_in, values, field_errors(exc, FORM_FIELDS), status=422)
    except AdminError as exc:
        return await _form(signed_in, values, {"page": exc.detail}, status=exc.status)
    if secret is not None:
        return await _secret_page(signed_in, client, secret)
    return see_other(url_for("admin_clients.show_client", id=client.client_id, done="created"))


def _client_id() -> str:
    """The client a client page is about: in the query, since ids may hold "/" or dots."""
    return request.args.get("id", "")[:200]


def _back() -> str:
    return url_for("admin_clients.show_client", id=_client_id())


@blueprint.get("/admin/client")
@console_page
async def show_client(signed_in: Operator) -> Response:
    """A client the console changes, as its form; any other, read only."""
    client = await _client(signed_in, _client_id())
    if client.source in EDITABLE:
        if again := await unless_recent(signed_in):
            return again
        return await _form(signed_in, _form_values(_policy_values(client)), {}, client)
    return await render_page(
        "admin/client.html", operator=signed_in, shown=views.client(client),
        metadata=json.dumps(views.client(client).metadata, indent=2, ensure_ascii=False),
        deletable=client.source in DELETABLE,
    )


@blueprint.post("/admin/client")
@console_change(_back)
async def update_client(signed_in: Operator) -> Response:
    client = await _client(signed_in, _client_id())
    values = await _typed()
    values["client_id"] = client.client_id
    try:
        policy = _policy(values, _policy_values(client))
        updated, secret = await clients.update_client(
            signed_in.provider, signed_in.actor, client, policy)
    except ValidationError as exc:
        return await _form(signed_in, values, field_errors(exc, FORM_FIELDS), client, 422)
    except AdminError as exc:
        return await _form(signed_in, values, {"page": exc.detail}, client, exc.status)
    if secret is not None:
        return await _secret_page(signed_in, updated, secret)
    return see_other(url_for("admin_clients.show_client", id=client.client_id, done="updated"))


def _refused(exc: AdminError) -> ErrorPage:
    return ErrorPage(N_("That cannot be done"), exc.detail, status=exc.status,
                     link=(_back(), N_("Back to the client")))


@blueprint.post("/admin/client/secret")
@console_change(_back)
async def rotate_secret(signed_in: Operator) -> Response:
    client = await _client(signed_in, _client_id())
    try:
        secret = await clients.rotate_secret(signed_in.provider, signed_in.actor, client)
    except AdminError as exc:
        raise _refused(exc) from exc
    return await _secret_page(signed_in, client, secret)


@blueprint.post("/admin/client/delete")
@console_change(_back)
async def delete_client(signed_in: Operator) -> Response:
    client = await _client(signed_in, _client_id())
    try:
        await clients.delete_client(signed_in.provider, signed_in.actor, client)
    except AdminError as exc:
        raise _refused(exc) from exc
    return see_other(url_for("admin_clients.list_clients", done="deleted"))


@blueprint.post("/admin/client/revoke-tokens")
@console_change(lambda: url_for("admin_clients.list_clients"))
async def revoke_client_tokens(signed_in: Operator) -> Response:
    client = await _client(signed_in, _client_id())
    await clients.revoke_tokens(signed_in.provider, signed_in.actor, client)
    return see_other(url_for("admin_clients.list_clients", done="tokens-revoked"))
