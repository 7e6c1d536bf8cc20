"""The admin console's pages for the server itself: flows drawn with their recent runs and each
run's event log, signing keys (and rotating them), and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from quart import Blueprint, Response, request, url_for

from admin import audit_events, flows, keys, views
from admin.actors import AdminError
from admin.console_access import Operator, console_change, console_page
from admin.paging import decode, next_cursor
from core import N_, ErrorPage
from oidc import Provider, see_other
from ui import render_page

blueprint = Blueprint("admin_system", __name__, template_folder="templates")
PAGE_SIZE = 50
KEY_ACTIVATES_IN = 86400.0  # a rotated key is published a day before it signs (as the CLI's)

NOTICES = {
    "key-rotated": N_("New keys are published now and sign from the time shown."),
}


def _not_found(exc: AdminError) -> ErrorPage:
    return ErrorPage(N_("Page not found"), exc.detail, status=404)


@blueprint.get("/admin/flows")
@console_page
async def list_flows(signed_in: Operator) -> Response:
    return await render_page(
        "admin/flows.html", operator=signed_in, found=await views.flow_list(signed_in.provider)
    )


@blueprint.get("/admin/flows/<name>")
@console_page
async def show_flow(signed_in: Operator, name: str) -> Response:
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
@console_page
async def flow_diagram(signed_in: Operator, name: str) -> Response:
    try:
        svg = await flows.svg_of(signed_in.provider, name)
    except AdminError as exc:
        return Response(exc.detail, status=exc.status, content_type="text/plain; charset=utf-8")
    return Response(svg, content_type="image/svg+xml")


@blueprint.get("/admin/runs/<run_id>")
@console_page
async def show_run(signed_in: Operator, run_id: str) -> Response:
    try:
        run = await flows.run_log(signed_in.provider, run_id)
    except AdminError as exc:
        raise _not_found(exc) from exc
    return await render_page("admin/run.html", operator=signed_in, run=views.run(run))


@blueprint.get("/admin/keys")
@console_page
async def list_keys(signed_in: Operator) -> Response:
    provider = signed_in.provider
    found = sorted(await keys.all_keys(provider), key=lambda k: k.created_at, reverse=True)
    return await render_page(
        "admin/keys.html", operator=signed_in, found=[views.key(provider, k) for k in found],
        notice=NOTICES.get(request.args.get("done", "")),
    )


@blueprint.post("/admin/keys/rotate")
@console_change(lambda: url_for("admin_system.list_keys"))
async def rotate_keys(signed_in: Operator) -> Response:
    await keys.rotate_keys(signed_in.provider, signed_in.actor, None, KEY_ACTIVATES_IN)
    return see_other(url_for("admin_system.list_keys", done="key-rotated"))


FILTERS = ("user", "kind", "client", "from", "to")


def _day(text: str) -> float | None:
    """The start of a day typed as YYYY-MM-DD (UTC), or None."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


async def _audit_filters(
    provider: Provider,
) -> tuple[dict[str, str], dict[str, str], float | None, float | None]:
    """The audit filters this request asks for: as typed; as the store compares them (a
    username or email found as its user's sub); and the time range, `to` day included."""
    args = {name: request.args.get(name, "").strip()[:200] for name in FILTERS}
    subject = args["user"]
    if subject:
        user = await provider.store.users.get(subject) or \
            await provider.store.users.find_by_login(subject)
        subject = user.id if user else subject
    until = _day(args["to"])
    return (args, audit_events.filters(subject, args["kind"], args["client"]), _day(args["from"]),
            until + 86400 if until is not None else None)


@blueprint.get("/admin/audit")
@console_page
async def audit_view(signed_in: Operator) -> Response:
    provider = signed_in.provider
    args, equal, since, until = await _audit_filters(provider)
    try:
        found = await audit_events.search(provider, equal, since, until, PAGE_SIZE,
                                          decode(request.args.get("cursor")))
    except AdminError:
        found = []
    following = next_cursor(found, PAGE_SIZE, provider.store.audit.cursor)
    subjects = {e.subject for e in found if e.subject}
    people = await asyncio.gather(*(provider.store.users.get(s) for s in subjects))
    return await render_page(
        "admin/audit.html", operator=signed_in, filters=args,
        found=[views.audit_event(e) for e in found],
        usernames={user.id: user.username for user in people if user},
        following=url_for("admin_system.audit_view", cursor=following, **args)  # type: ignore[arg-type]
        if following else None,
    )


@blueprint.get("/admin/audit/export")
@console_page
async def audit_export(signed_in: Operator) -> Response:
    """Every event the filters match, as CSV or JSON lines (as the admin API exports them)."""
    fmt = "csv" if request.args.get("format") == "csv" else "jsonl"
    _, equal, since, until = await _audit_filters(signed_in.provider)
    lines = audit_events.export(signed_in.provider, equal, since, until, fmt)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/jsonl"
    return Response(lines, content_type=media,
                    headers={"Content-Disposition": f'attachment; filename="audit.{fmt}"'})
