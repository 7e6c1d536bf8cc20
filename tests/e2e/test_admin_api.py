"""The admin API end to end: a running server, tokens from its token endpoint, calls over HTTP,
and the effects seen where people and clients meet them (sign-in pages, tokens, sessions)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest

from store import CredentialRecord, ThrottleRecord
from tests.e2e.admin_api import AdminApi
from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import RunningServer, server_store
from tests.e2e.tokens import CALLBACK

PASSWORD = "a-long-enough-password-9"
AUTHORIZE = ("/authorize?client_id=demo-rp&response_type=code&scope=openid%20offline_access"
             f"&redirect_uri={CALLBACK}&nonce=n&prompt=consent")


@pytest.fixture
async def api(server: RunningServer) -> AsyncIterator[AdminApi]:
    client = AdminApi(server)
    yield client
    await client.close()


async def signed_in(server: RunningServer, username: str) -> tuple[FormBrowser, dict[str, str]]:
    """A browser signed in as `username` through demo-rp (agreeing when asked), and the answer's
    parameters."""
    browser = FormBrowser(server.issuer)
    answer = await browser.sign_in(AUTHORIZE, username, PASSWORD)
    if 'name="decision"' in answer.text:
        answer = await browser.click(answer, ("decision", "allow"))
    target, params = redirect_params(answer)
    assert target == CALLBACK and "code" in params, page_text(answer)
    return browser, params


async def audit_of(api: AdminApi, subject: str, kind: str) -> list[dict[str, Any]]:
    page = await api.ok("GET", "/audit-events", params={"subject": subject, "kind": kind})
    return list(page["items"])


async def test_users_are_created_found_changed_and_deleted(api: AdminApi) -> None:
    user = await api.new_user(PASSWORD, name="Zelda Quartermaine", groups=["staff"])
    assert user["has_password"] and user["email_verified"] and user["groups"] == ["staff"]
    found = await api.ok("GET", "/users", params={"q": "quartermaine"})
    assert [u["id"] for u in found["items"]] == [user["id"]]
    by_login = await api.ok("GET", f"/users/{user['username']}")  # an id or a login
    assert by_login["id"] == user["id"] and by_login["credentials"] == []
    changed = await api.ok("PATCH", f"/users/{user['id']}",
                           json={"groups": ["staff", "admins"], "claims": {"locale": "fr"}})
    assert changed["groups"] == ["staff", "admins"] and changed["claims"]["locale"] == "fr"
    taken = await api.call("POST", "/users", json={"username": user["username"]})
    assert taken.status_code == 409 and taken.headers["content-type"] == "application/problem+json"
    await api.ok("DELETE", f"/users/{user['id']}", 204)
    assert (await api.call("GET", f"/users/{user['id']}")).status_code == 404
    deleted = await audit_of(api, user["id"], "user_deleted")
    assert deleted[0]["details"]["by"] == "client:admin-bot"
    assert deleted[0]["client_id"] == "admin-bot"


async def test_users_are_paged_with_a_cursor(api: AdminApi) -> None:
    made = [await api.new_user(name="Pagination Probe") for _ in range(3)]
    first = await api.ok("GET", "/users", params={"q": "pagination probe", "limit": 2})
    second = await api.ok("GET", "/users", params={"q": "pagination probe", "limit": 2,
                                                   "cursor": first["next"]})
    seen = [u["id"] for u in first["items"] + second["items"]]
    assert sorted(seen) == sorted(u["id"] for u in made) and second["next"] is None
    bad = await api.call("GET", "/users", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


async def test_a_password_follows_the_pages_policy(api: AdminApi) -> None:
    weak = await api.call("POST", "/users", json={"username": "weakling", "password": "password"})
    assert weak.status_code == 422 and "common" in weak.json()["detail"]
    user = await api.new_user()
    assert not user["has_password"]
    await api.ok("PUT", f"/users/{user['id']}/password", 204, json={"password": PASSWORD})
    assert (await api.ok("GET", f"/users/{user['id']}"))["has_password"]


async def test_a_password_reset_link_is_sent_shown_and_cancelled(api: AdminApi) -> None:
    user = await api.new_user(PASSWORD)
    path = f"/users/{user['id']}"
    sent = await api.ok("POST", f"{path}/send-password-reset")
    assert sent["sent_to"] == user["email"] and sent["expires_at"] > time.time() + 23 * 3600
    [link] = (await api.ok("GET", path))["credentials"]
    assert link["kind"] == "reset_link"  # pending, until used or cancelled
    await api.ok("DELETE", f"{path}/credentials/{link['id']}", 204)
    assert (await api.ok("GET", path))["credentials"] == []
    [audited] = await audit_of(api, user["id"], "password_reset_sent")
    assert audited["details"] == {"by": "client:admin-bot", "to": user["email"]}
    assert await audit_of(api, user["id"], "password_reset_cancelled")
    assert await audit_of(api, user["id"], "mfa_changed") == []  # no sign-in method changed
    await api.ok("POST", f"{path}/send-password-reset")
    await api.ok("POST", f"{path}/disable")  # a link must not work again once enabled
    assert (await api.ok("POST", f"{path}/enable"))["credentials"] == []
    nobody = await api.new_user(email=None)
    refused = await api.call("POST", f"/users/{nobody['id']}/send-password-reset")
    assert refused.status_code == 409 and refused.json()["detail"] == (
        "the user has no email address")


async def test_a_disabled_user_is_signed_out_and_cannot_sign_in_until_enabled(
    server: RunningServer, api: AdminApi,
) -> None:
    user = await api.new_user(PASSWORD)
    browser, _ = await signed_in(server, user["username"])
    sessions = await api.ok("GET", f"/users/{user['id']}/sessions")
    assert len(sessions["items"]) == 1
    grants = await api.ok("GET", f"/users/{user['id']}/grants")
    assert [g["client_id"] for g in grants["items"]] == ["demo-rp"]
    disabled = await api.ok("POST", f"/users/{user['id']}/disable")
    assert disabled["disabled"]
    assert (await api.ok("GET", f"/users/{user['id']}/sessions"))["items"] == []
    revoked = (await api.ok("GET", f"/users/{user['id']}/grants"))["items"]
    assert [g["revoked"] for g in revoked] == [True]  # listed, revoked, until it expires
    refused = await browser.sign_in(AUTHORIZE, user["username"], PASSWORD)
    assert refused.status_code == 400 and "This account is disabled" in page_text(refused)
    await browser.close()
    await api.ok("POST", f"/users/{user['id']}/enable")
    again, _ = await signed_in(server, user["username"])
    await again.close()
    kinds = {e["kind"] for e in (await api.ok("GET", "/audit-events",
                                              params={"subject": user["id"]}))["items"]}
    assert {"user_disabled", "user_enabled", "session_ended", "sign_in_failed"} <= kinds


async def test_second_factors_are_reset_one_or_all(server: RunningServer, api: AdminApi) -> None:
    user = await api.new_user(PASSWORD)
    async with server_store(server) as store:
        for n, kind in enumerate(["totp", "webauthn", "webauthn", "recovery_codes"]):
            await store.credentials.add(CredentialRecord(
                id=f"{user['id']}-{n}", user_id=user["id"], kind=kind, created_at=time.time(),
            ))
    shown = await api.ok("GET", f"/users/{user['id']}")
    assert sorted(c["kind"] for c in shown["credentials"]) == [
        "recovery_codes", "totp", "webauthn", "webauthn"]
    await api.ok("DELETE", f"/users/{user['id']}/credentials/{user['id']}-1", 204)
    missing = await api.call("DELETE", f"/users/{user['id']}/credentials/{user['id']}-1")
    assert missing.status_code == 404
    reset = await api.ok("POST", f"/users/{user['id']}/reset-second-factors")
    assert reset["credentials"] == []
    changes = await audit_of(api, user["id"], "mfa_changed")
    assert [e["details"]["methods"] for e in changes] == [
        ["recovery_codes", "totp", "webauthn"], ["webauthn"]]


async def test_a_throttling_block_is_shown_and_lifted(server: RunningServer, api: AdminApi) -> None:
    user = await api.new_user(PASSWORD)
    blocked_until = time.time() + 600
    async with server_store(server) as store:
        await store.throttles.add(ThrottleRecord(
            id=f"password:account:{user['id']}", account=user["id"], failures=10, lockouts=1,
            blocked_until=blocked_until, expires_at=blocked_until + 3600,
        ), time.time())
    assert (await api.ok("GET", f"/users/{user['id']}"))["blocked_until"] == blocked_until
    assert (await api.ok("POST", f"/users/{user['id']}/unlock"))["blocked_until"] is None
    assert (await audit_of(api, user["id"], "unlocked"))[0]["details"]["keys"] == 1


async def test_sessions_end_and_consents_and_grants_are_revoked(
    server: RunningServer, api: AdminApi,
) -> None:
    user = await api.new_user(PASSWORD)
    browser, params = await signed_in(server, user["username"])
    async with httpx2.AsyncClient() as http:
        tokens = (await http.post(f"{server.issuer}/token", auth=("demo-rp", _demo_secret()), data={
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK,
        })).json()
    assert "refresh_token" in tokens, tokens
    grants = (await api.ok("GET", f"/users/{user['id']}/grants"))["items"]
    await api.ok("DELETE", f"/users/{user['id']}/grants/{grants[0]['id']}", 204)
    await api.ok("DELETE", f"/users/{user['id']}/grants/{grants[0]['id']}", 404)  # revoked
    async with httpx2.AsyncClient() as http:
        refreshed = await http.post(f"{server.issuer}/token", auth=("demo-rp", _demo_secret()),
                                    data={"grant_type": "refresh_token",
                                          "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    sessions = (await api.ok("GET", f"/users/{user['id']}/sessions"))["items"]
    ended = await api.ok("DELETE", f"/users/{user['id']}/sessions/{sessions[0]['sid']}")
    assert ended == {"ended": 1}
    # The browser's session is gone: a silent request now needs a sign-in.
    silent = await browser.open(AUTHORIZE.replace("prompt=consent", "prompt=none"))
    assert redirect_params(silent)[1]["error"] == "login_required"
    await browser.close()
    consents = (await api.ok("GET", f"/users/{user['id']}/consents"))["items"]
    assert [c["client_id"] for c in consents] == ["demo-rp"]
    assert await api.ok("DELETE", f"/users/{user['id']}/consents/demo-rp") == {"revoked": 0}
    assert (await api.ok("GET", f"/users/{user['id']}/consents"))["items"] == []
    assert (await api.call("DELETE", f"/users/{user['id']}/sessions/nope")).status_code == 404


def _demo_secret() -> str:
    from tests.e2e.server import CONFIDENTIAL_SECRET
    return CONFIDENTIAL_SECRET


async def test_clients_from_the_config_are_read_only_and_api_clients_are_managed(
    server: RunningServer, api: AdminApi,
) -> None:
    listed = {c["client_id"]: c for c in (await api.ok("GET", "/clients"))["items"]}
    assert listed["demo-rp"]["source"] == "config" and listed["demo-rp"]["has_secret"]
    assert listed["gatehouse-account"]["source"] == "builtin"
    assert "client_secret_sha256" not in json.dumps(listed)
    paged, cursor = [], None  # pages of 3, by client_id, cover the same clients
    while True:
        page = await api.ok("GET", "/clients?" + urlencode(
            {"limit": 3, **({"cursor": cursor} if cursor else {})}))
        paged += [c["client_id"] for c in page["items"]]
        if not (cursor := page.get("next")):
            break
    assert paged == sorted(listed)
    config_change = await api.call("PUT", "/clients/demo-rp", json={
        "client_id": "demo-rp", "grant_types": ["client_credentials"]})
    assert config_change.status_code == 409 and "gatehouse.yaml" in config_change.json()["detail"]
    assert (await api.call("DELETE", "/clients/demo-rp")).status_code == 409
    body = {"client_id": "reports-job", "grant_types": ["client_credentials"], "scope": "api:read"}
    created = await api.ok("POST", "/clients", 201, json=body)
    assert created["source"] == "admin" and len(created["client_secret"]) >= 32
    assert (await api.call("POST", "/clients", json=body)).status_code == 409
    bad = await api.call("POST", "/clients", json={**body, "client_id": "x", "colour": "red"})
    assert bad.status_code == 422

    async def token(secret: str) -> int:
        async with httpx2.AsyncClient() as http:
            answer = await http.post(f"{server.issuer}/token", auth=("reports-job", secret),
                                     data={"grant_type": "client_credentials"})
        return answer.status_code

    assert await token(created["client_secret"]) == 200
    rotated = await api.ok("POST", "/clients/reports-job/secret")
    assert await token(created["client_secret"]) == 401
    assert await token(rotated["client_secret"]) == 200
    updated = await api.ok("PUT", "/clients/reports-job", json={**body, "client_name": "Reports"})
    assert updated["client_name"] == "Reports" and updated["client_secret"] is None
    assert await api.ok("POST", "/clients/reports-job/revoke-tokens") == {"revoked": 0}
    await api.ok("DELETE", "/clients/reports-job", 204)
    assert await token(rotated["client_secret"]) == 401


async def test_a_clients_tokens_are_revoked(server: RunningServer, api: AdminApi) -> None:
    user = await api.new_user(PASSWORD)
    browser, params = await signed_in(server, user["username"])
    await browser.close()
    revoked = await api.ok("POST", "/clients/demo-rp/revoke-tokens")
    assert revoked["revoked"] >= 1
    grants = (await api.ok("GET", f"/users/{user['id']}/grants"))["items"]
    assert grants and all(g["revoked"] for g in grants)
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{server.issuer}/token", auth=("demo-rp", _demo_secret()), data={
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK,
        })
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_audit_events_are_filtered_paged_and_exported(api: AdminApi) -> None:
    user = await api.new_user(PASSWORD)
    await api.ok("POST", f"/users/{user['id']}/disable")
    await api.ok("POST", f"/users/{user['id']}/enable")
    events = (await api.ok("GET", "/audit-events", params={"subject": user["id"]}))["items"]
    assert [e["kind"] for e in events] == ["user_enabled", "user_disabled", "user_created"]
    first = await api.ok("GET", "/audit-events", params={"subject": user["id"], "limit": 1})
    rest = await api.ok("GET", "/audit-events", params={"subject": user["id"],
                                                        "cursor": first["next"]})
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in events]
    window = await api.ok("GET", "/audit-events", params={
        "subject": user["id"], "since": events[1]["at"], "until": events[0]["at"]})
    assert [e["kind"] for e in window["items"]] == ["user_disabled"]
    lines = await api.call("GET", "/audit-events/export", params={"subject": user["id"]})
    assert lines.headers["content-type"] == "application/jsonl"
    assert [json.loads(line)["kind"] for line in lines.text.splitlines()] == [
        e["kind"] for e in events]
    table = await api.call("GET", "/audit-events/export",
                           params={"subject": user["id"], "format": "csv", "kind": "user_created"})
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["kind"] for r in rows] == ["user_created"]
    assert json.loads(rows[0]["details"])["username"] == user["username"]


async def test_flows_are_listed_drawn_and_their_runs_explained(
    server: RunningServer, api: AdminApi,
) -> None:
    flows = {f["name"]: f for f in (await api.ok("GET", "/flows"))["items"]}
    assert flows["default"]["steps"]["identify"] == "identify"
    assert "demo-rp" in flows["default"]["clients"]
    assert "one-page-app" in flows["one-page"]["clients"]
    drawing = await api.call("GET", "/flows/default/diagram.svg")
    assert drawing.status_code == 200 and drawing.headers["content-type"] == "image/svg+xml"
    assert "<svg" in drawing.text and "identify" in drawing.text
    assert (await api.call("GET", "/flows/nope/diagram.svg")).status_code == 404
    user = await api.new_user(PASSWORD)
    browser, _ = await signed_in(server, user["username"])
    await browser.close()
    runs = (await api.ok("GET", "/flows/default/runs", params={"limit": 50}))["items"]
    mine = next(r for r in runs if r["subject"] == user["id"])
    assert mine["state"] == "done" and mine["client_id"] == "demo-rp"
    log = (await api.ok("GET", f"/runs/{mine['id']}"))["log"]
    taken = [(e.get("step"), e.get("outcome")) for e in log if e["event"] == "outcome"]
    assert ("identify", "success") in taken and ("password", "success") in taken
    assert any(e.get("conditions") for e in log if e["event"] == "outcome")  # why a branch
    assert (await api.call("GET", "/runs/nope")).status_code == 404


async def test_keys_are_listed_and_rotated(api: AdminApi) -> None:
    before = (await api.ok("GET", "/keys"))["items"]
    assert {k["alg"] for k in before if k["state"] == "signing"} >= {"RS256", "ES256"}
    added = (await api.ok("POST", "/keys/rotate", 201, json={"alg": "ES256"}))["items"]
    assert [(k["alg"], k["state"]) for k in added] == [("ES256", "next")]
    after = {k["kid"]: k for k in (await api.ok("GET", "/keys"))["items"]}
    assert after[added[0]["kid"]]["state"] == "next"
    assert (await api.call("POST", "/keys/rotate", json={"alg": "HS256"})).status_code == 422
