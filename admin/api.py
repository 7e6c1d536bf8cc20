"""The admin API's endpoints, under /admin/api (admin/api_routes.py says how they answer)."""

from __future__ import annotations

from quart import Response

from admin import access, audit_events, clients, flows, keys, models, users, views
from admin.api_routes import Call, Endpoint
from admin.paging import decode, next_cursor
from store import UserRecord

USER = "/users/{user_id}"


async def _user(call: Call) -> UserRecord:
    return await users.find_user(call.provider, call.path["user_id"])


# users


async def search_users(call: Call) -> models.UserPage:
    q: models.UserQuery = call.query
    found = await call.provider.store.users.search(q.q, q.limit, decode(q.cursor))
    return models.UserPage(
        items=[views.user(u) for u in found],
        next=next_cursor(found, q.limit, call.provider.store.users.cursor),
    )


async def create_user(call: Call) -> models.UserDetail:
    new: models.NewUser = call.body
    user = await users.create_user(
        call.provider, call.actor, new.username, new.email, new.email_verified, new.name,
        new.groups, new.password,
    )
    return await views.user_detail(call.provider, user)


async def show_user(call: Call) -> models.UserDetail:
    return await views.user_detail(call.provider, await _user(call))


async def update_user(call: Call) -> models.UserDetail:
    changes: models.UserChanges = call.body
    user = await users.update_user(
        call.provider, call.actor, await _user(call), changes.email, changes.email_verified,
        changes.name, changes.groups, changes.claims,
    )
    return await views.user_detail(call.provider, user)


async def delete_user(call: Call) -> None:
    await users.delete_user(call.provider, call.actor, await _user(call))


async def disable_user(call: Call) -> models.UserDetail:
    user = await users.disable_user(call.provider, call.actor, await _user(call))
    return await views.user_detail(call.provider, user)


async def enable_user(call: Call) -> models.UserDetail:
    user = await users.enable_user(call.provider, call.actor, await _user(call))
    return await views.user_detail(call.provider, user)


async def set_password(call: Call) -> None:
    body: models.NewPassword = call.body
    await users.set_password(call.provider, call.actor, await _user(call), body.password)


async def send_password_reset(call: Call) -> models.ResetLinkSent:
    user = await _user(call)
    expires_at = await users.send_password_reset(call.provider, call.actor, user)
    return models.ResetLinkSent(sent_to=user.email or "", expires_at=expires_at)


async def remove_credential(call: Call) -> None:
    await users.remove_credential(
        call.provider, call.actor, await _user(call), call.path["credential_id"]
    )


async def reset_second_factors(call: Call) -> models.UserDetail:
    user = await _user(call)
    await users.reset_second_factors(call.provider, call.actor, user)
    return await views.user_detail(call.provider, user)


async def unlock_user(call: Call) -> models.UserDetail:
    user = await _user(call)
    await users.unlock_user(call.provider, call.actor, user)
    return await views.user_detail(call.provider, user)


# sessions, consents, grants


async def list_sessions(call: Call) -> models.SessionList:
    found = await access.sessions_of(call.provider, await _user(call))
    return models.SessionList(items=[views.session(s) for s in found])


async def end_sessions(call: Call) -> models.Ended:
    ended = await access.end_sessions(call.provider, call.actor, await _user(call))
    return models.Ended(ended=ended)


async def end_session(call: Call) -> models.Ended:
    user = await _user(call)
    ended = await access.end_sessions(call.provider, call.actor, user, call.path["sid"])
    return models.Ended(ended=ended)


async def list_consents(call: Call) -> models.ConsentList:
    found = await access.consents_of(call.provider, await _user(call))
    return models.ConsentList(items=[views.consent(c) for c in found])


async def revoke_consent(call: Call) -> models.Revoked:
    user = await _user(call)
    revoked = await access.revoke_consent(call.provider, call.actor, user, call.path["client_id"])
    return models.Revoked(revoked=revoked)


async def list_grants(call: Call) -> models.GrantPage:
    q: models.PageQuery = call.query
    found = await access.grants_page(call.provider, await _user(call), q.limit, decode(q.cursor))
    return models.GrantPage(
        items=[views.grant(g) for g in found],
        next=next_cursor(found, q.limit, call.provider.store.grants.cursor),
    )


async def revoke_grant(call: Call) -> None:
    await access.revoke_grant(call.provider, call.actor, await _user(call), call.path["grant_id"])


# clients


async def list_clients(call: Call) -> models.ClientPage:
    q: models.PageQuery = call.query
    found = await clients.clients_page(call.provider, q.limit, decode(q.cursor))
    return models.ClientPage(
        items=[views.client(c) for c in found],
        next=next_cursor(found, q.limit, call.provider.store.clients.cursor),
    )


async def show_client(call: Call) -> models.Client:
    return views.client(await clients.find_client(call.provider, call.path["client_id"]))


def _with_secret(record: models.Client, secret: str | None) -> models.ClientWithSecret:
    return models.ClientWithSecret(**record.model_dump(), client_secret=secret)


async def create_client(call: Call) -> models.ClientWithSecret:
    client, secret = await clients.create_client(call.provider, call.actor, call.body)
    return _with_secret(views.client(client), secret)


async def update_client(call: Call) -> models.ClientWithSecret:
    found = await clients.find_client(call.provider, call.path["client_id"])
    client, secret = await clients.update_client(call.provider, call.actor, found, call.body)
    return _with_secret(views.client(client), secret)


async def delete_client(call: Call) -> None:
    found = await clients.find_client(call.provider, call.path["client_id"])
    await clients.delete_client(call.provider, call.actor, found)


async def rotate_client_secret(call: Call) -> models.ClientWithSecret:
    found = await clients.find_client(call.provider, call.path["client_id"])
    secret = await clients.rotate_secret(call.provider, call.actor, found)
    return _with_secret(views.client(found), secret)


async def revoke_client_tokens(call: Call) -> models.Revoked:
    found = await clients.find_client(call.provider, call.path["client_id"])
    return models.Revoked(revoked=await clients.revoke_tokens(call.provider, call.actor, found))


# audit events


async def search_audit(call: Call) -> models.AuditPage:
    q: models.AuditQuery = call.query
    equal = audit_events.filters(q.subject, q.kind, q.client_id)
    found = await audit_events.search(call.provider, equal, q.since, q.until, q.limit,
                                      decode(q.cursor))
    return models.AuditPage(
        items=[views.audit_event(e) for e in found],
        next=next_cursor(found, q.limit, call.provider.store.audit.cursor),
    )


async def export_audit(call: Call) -> Response:
    q: models.AuditExportQuery = call.query
    equal = audit_events.filters(q.subject, q.kind, q.client_id)
    lines = audit_events.export(call.provider, equal, q.since, q.until, q.format)
    media = "text/csv; charset=utf-8" if q.format == "csv" else "application/jsonl"
    return Response(lines, content_type=media, headers={
        "Content-Disposition": f'attachment; filename="audit.{q.format}"',
    })


# flows


async def list_flows(call: Call) -> models.FlowList:
    return models.FlowList(items=await views.flow_list(call.provider))


async def flow_diagram(call: Call) -> Response:
    svg = await flows.svg_of(call.provider, call.path["name"])
    return Response(svg, content_type="image/svg+xml")


async def recent_runs(call: Call) -> models.RunPage:
    q: models.PageQuery = call.query
    found = await flows.recent_runs(call.provider, call.path["name"], q.limit, decode(q.cursor))
    return models.RunPage(
        items=[views.run_summary(r) for r in found],
        next=next_cursor(found, q.limit, call.provider.store.run_logs.cursor),
    )


async def show_run(call: Call) -> models.Run:
    return views.run(await flows.run_log(call.provider, call.path["run_id"]))


# keys


async def list_keys(call: Call) -> models.KeyList:
    found = await keys.all_keys(call.provider)
    return models.KeyList(items=[views.key(call.provider, k) for k in found])


async def rotate_keys(call: Call) -> models.KeyList:
    body: models.KeyRotation = call.body
    added = await keys.rotate_keys(call.provider, call.actor, body.alg, body.activate_in)
    return models.KeyList(items=[views.key(call.provider, k) for k in added])


E = Endpoint
ENDPOINTS = [
    E("GET", "/users", "Search users by username, email or name", search_users,
      query=models.UserQuery, answer=models.UserPage),
    E("POST", "/users", "Create a user", create_user, writes=True, body=models.NewUser,
      answer=models.UserDetail, status=201),
    E("GET", USER, "A user, with credentials and throttling", show_user,
      answer=models.UserDetail),
    E("PATCH", USER, "Change a user's email, name, claims or groups", update_user, writes=True,
      body=models.UserChanges, answer=models.UserDetail),
    E("DELETE", USER, "Delete a user (their sessions end first)", delete_user, writes=True),
    E("POST", f"{USER}/disable", "Disable a user: sessions end, grants are revoked",
      disable_user, writes=True, answer=models.UserDetail),
    E("POST", f"{USER}/enable", "Enable a disabled user", enable_user, writes=True,
      answer=models.UserDetail),
    E("PUT", f"{USER}/password", "Set a user's password (the pages' policy applies)",
      set_password, writes=True, body=models.NewPassword),
    E("POST", f"{USER}/send-password-reset",
      "Email the user a link to choose a new password (it works once, for a day)",
      send_password_reset, writes=True, answer=models.ResetLinkSent,
      errors=(400, 404, 409, 422, 503)),
    E("DELETE", f"{USER}/credentials/{{credential_id}}", "Remove one credential",
      remove_credential, writes=True),
    E("POST", f"{USER}/reset-second-factors",
      "Remove every second factor (authenticator apps, passkeys, recovery codes)",
      reset_second_factors, writes=True, answer=models.UserDetail),
    E("POST", f"{USER}/unlock", "Lift the user's throttling blocks", unlock_user, writes=True,
      answer=models.UserDetail),
    E("GET", f"{USER}/sessions", "A user's sessions", list_sessions,
      answer=models.SessionList),
    E("DELETE", f"{USER}/sessions", "End every session of a user (back-channel logout)",
      end_sessions, writes=True, answer=models.Ended),
    E("DELETE", f"{USER}/sessions/{{sid}}", "End one session (back-channel logout)",
      end_session, writes=True, answer=models.Ended),
    E("GET", f"{USER}/consents", "A user's consents", list_consents,
      answer=models.ConsentList),
    E("DELETE", f"{USER}/consents/{{client_id}}",
      "Revoke a consent, and the grants of that client", revoke_consent, writes=True,
      answer=models.Revoked),
    E("GET", f"{USER}/grants", "A user's unexpired grants, newest first, revoked ones too",
      list_grants, query=models.PageQuery, answer=models.GrantPage),
    E("DELETE", f"{USER}/grants/{{grant_id}}", "Revoke a grant and its tokens", revoke_grant,
      writes=True),
    E("GET", "/clients", "Every client, with where it comes from, by client_id", list_clients,
      query=models.PageQuery, answer=models.ClientPage),
    E("POST", "/clients", "Create a client", create_client, writes=True,
      body=models.NewClient, answer=models.ClientWithSecret, status=201),
    E("GET", "/clients/{client_id}", "A client", show_client, answer=models.Client),
    E("PUT", "/clients/{client_id}", "Replace a client the API keeps", update_client,
      writes=True, body=models.NewClient, answer=models.ClientWithSecret),
    E("DELETE", "/clients/{client_id}", "Delete a client the API keeps, or a registered one",
      delete_client, writes=True),
    E("POST", "/clients/{client_id}/secret", "Give a client a new secret",
      rotate_client_secret, writes=True, answer=models.ClientWithSecret),
    E("POST", "/clients/{client_id}/revoke-tokens", "Revoke every grant a client holds",
      revoke_client_tokens, writes=True, answer=models.Revoked),
    E("GET", "/audit-events", "Audit events, filtered and paged, newest first", search_audit,
      query=models.AuditQuery, answer=models.AuditPage),
    E("GET", "/audit-events/export", "Every matching audit event, as JSON lines or CSV",
      export_audit, query=models.AuditExportQuery, media=("application/jsonl", "text/csv")),
    E("GET", "/flows", "The flows, with the clients that use each", list_flows,
      answer=models.FlowList),
    E("GET", "/flows/{name}/diagram.svg", "A flow drawn as SVG", flow_diagram,
      media=("image/svg+xml",), errors=(404, 503)),
    E("GET", "/flows/{name}/runs", "A flow's recent finished runs", recent_runs,
      query=models.PageQuery, answer=models.RunPage),
    E("GET", "/runs/{run_id}", "A finished run's event log", show_run, answer=models.Run),
    E("GET", "/keys", "The signing keys", list_keys, answer=models.KeyList),
    E("POST", "/keys/rotate", "Add the next signing key (of one algorithm, or every one)",
      rotate_keys, writes=True, body=models.KeyRotation, answer=models.KeyList, status=201),
]
