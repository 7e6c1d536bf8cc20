"""The admin console's pages for the server itself: clients (and revoking a client's tokens),
flows drawn with their recent runs and each run's event log, signing keys (and rotating them),
and the audit trail."""

from __future__ import annotations

from quart import Blueprint, Response, request, url_for

from admin import audit_events, clients, flows, keys, views
from admin.actors import AdminError
from admin.console_access import changing_operator, operator
from admin.paging import decode, next_cursor
from core import N_, ErrorPage
from oidc import see_other
from ui import render_page

blueprint = Blueprint("admin_system", __name__, template_folder="templates")
PAGE_SIZE = 50
KEY_ACTIVATES_IN = 86400.0  # a rotated key is published a day before it signs (as the CLI's)

NOTICES = {
    "tokens-revoked": N_("The client's grants were revoked: its refresh tokens no longer work."),
    "key-rotated": N_("New keys are published now and sign from the time shown."),
}


def _not_found(exc: AdminError) -> ErrorPage:
    return ErrorPage(N_("Page not found"), exc.detail, status=404)


@blueprint.get("/admin/clients")
async def list_clients() -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    found = await clients.all_clients(signed_in.provider)
    return await render_page(
        "admin/clients.html", operator=signed_in,
        found=[views.client(c) for c in sorted(found, key=lambda c: c.client_id)],
        notice=NOTICES.get(request.args.get("done", "")),
    )


@blueprint.post("/admin/clients/<path:client_id>/revoke-tokens")
async def revoke_client_tokens(client_id: str) -> Response:
    page = url_for("admin_system.list_clients")
    signed_in = await changing_operator(page)
    if isinstance(signed_in, Response):
        return signed_in
    try:
        client = await clients.find_client(signed_in.provider, client_id)
    except AdminError as exc:
        raise _not_found(exc) from exc
    await clients.revoke_tokens(signed_in.provider, signed_in.actor, client)
    return see_other(url_for("admin_system.list_clients", done="tokens-revoked"))


@blueprint.get("/admin/flows")
async def list_flows() -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    return await render_page(
        "admin/flows.html", operator=signed_in, found=await views.flow_list(signed_in.provider)
    )


@blueprint.get("/admin/flows/<name>")
async def show_flow(name: str) -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    provider = signed_in.provider
    try:
        runs = await flows.recent_runs(provider, name, PAGE_SIZE, decode(request.args.get("cursor")))
    except AdminError as exc:
        raise _not_found(exc) from exc
    following = next_cursor(runs, PAGE_SIZE, provider.store.run_logs.cursor)
    return await render_page(
        "admin/flow.html", operator=signed_in, name=name,
        description=provider.engine.flows.flows[name].spec.description,
        runs=[views.run_summary(r) for r in runs],
        following=url_for("admin_system.show_flow", name=name, cursor=following)
        if following else None,
    )


@blueprint.get("/admin/flows/<name>/diagram.svg")
async def flow_diagram(name: str) -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    try:
        svg = await flows.svg_of(signed_in.provider, name)
    except AdminError as exc:
        return Response(exc.detail, status=exc.status, content_type="text/plain; charset=utf-8")
    return Response(svg, content_type="image/svg+xml")


@blueprint.get("/admin/runs/<run_id>")
async def show_run(run_id: str) -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    try:
        run = await flows.run_log(signed_in.provider, run_id)
    except AdminError as exc:
        raise _not_found(exc) from exc
    return await render_page("admin/run.html", operator=signed_in, run=views.run(run))


@blueprint.get("/admin/keys")
async def list_keys() -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    provider = signed_in.provider
    found = sorted(await keys.all_keys(provider), key=lambda k: k.created_at, reverse=True)
    return await render_page(
        "admin/keys.html", operator=signed_in, found=[views.key(provider, k) for k in found],
        notice=NOTICES.get(request.args.get("done", "")),
    )


@blueprint.post("/admin/keys/rotate")
async def rotate_keys() -> Response:
    signed_in = await changing_operator(url_for("admin_system.list_keys"))
    if isinstance(signed_in, Response):
        return signed_in
    await keys.rotate_keys(signed_in.provider, signed_in.actor, None, KEY_ACTIVATES_IN)
    return see_other(url_for("admin_system.list_keys", done="key-rotated"))


@blueprint.get("/admin/audit")
async def audit_view() -> Response:
    signed_in = await operator()
    if isinstance(signed_in, Response):
        return signed_in
    provider = signed_in.provider
    args = {name: request.args.get(name, "").strip()[:200] for name in ("user", "kind", "client")}
    subject = args["user"]
    if subject:
        user = await provider.store.users.get(subject) or \
            await provider.store.users.find_by_login(subject)
        subject = user.id if user else subject
    equal = audit_events.filters(subject, args["kind"], args["client"])
    try:
        found = await audit_events.search(provider, equal, None, None, PAGE_SIZE,
                                          decode(request.args.get("cursor")))
    except AdminError:
        found = []
    following = next_cursor(found, PAGE_SIZE, provider.store.audit.cursor)
    subjects = {e.subject for e in found if e.subject}
    people = {s: await provider.store.users.get(s) for s in subjects}
    return await render_page(
        "admin/audit.html", operator=signed_in, filters=args,
        found=[views.audit_event(e) for e in found],
        usernames={s: user.username for s, user in people.items() if user},
        following=url_for("admin_system.audit_view", cursor=following, **args)  # type: ignore[arg-type]
        if following else None,
    )
