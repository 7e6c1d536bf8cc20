"""The audit stream: a sign-in, a token and a logout leave records in the store and lines in the
log, with the request id of the response; records go once `audit_retention` has passed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from store import open_store
from store.records import AuditRecord
from tests.e2e.browser import FormBrowser
from tests.e2e.server import ALICE, RunningServer, gatehouse, start_server
from tests.e2e.test_mfa_in_chromium import PASSWORD, add_user
from tests.e2e.totp_users import totp_user
from tests.observe.support import client_credentials, json_lines, sign_in_and_exchange, wait_for

RETENTION = 3600


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("audit"), log_format="json", audit_retention=RETENTION
    )
    yield running
    running.stop()


async def events_of(server: RunningServer, subject: str, now: float) -> list[AuditRecord]:
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    try:
        return await store.audit.for_subject(subject, now)
    finally:
        await store.close()


async def test_sign_in_token_and_logout_are_in_the_store_and_the_log(
    server: RunningServer,
) -> None:
    browser = FormBrowser(server.issuer)
    try:
        token = await sign_in_and_exchange(browser)
        logout = await browser.submit(await browser.http.get("/logout"))  # confirmed
    finally:
        await browser.close()
    assert logout.status_code == 200
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    try:
        alice = await store.users.find_by_login(ALICE[0])
    finally:
        await store.close()
    assert alice is not None
    logged_out, issued, signed_in = (await events_of(server, alice.id, time.time()))[:3]

    assert signed_in.kind == "sign_in" and signed_in.client_id == "public-app"
    assert signed_in.details["amr"] == ["pwd"] and signed_in.details["flow"] == "default"
    assert signed_in.details["acr"] and signed_in.details["sid"]
    assert issued.kind == "token_issued" and issued.client_id == "public-app"
    assert issued.details == {"grant_type": "authorization_code", "scope": "openid",
                              "sid": signed_in.details["sid"]}
    assert issued.request_id == token.headers["x-request-id"]
    assert logged_out.kind == "logout" and logged_out.details == {"sid": signed_in.details["sid"]}
    assert logged_out.request_id == logout.headers["x-request-id"]
    for event in (signed_in, issued, logged_out):
        assert event.subject == alice.id and event.address == "127.0.0.1"
        assert event.expires_at == pytest.approx(event.at + RETENTION)

    def audit_lines() -> list[dict[str, Any]] | None:
        found = [line for line in json_lines(server.log) if line.get("logger") == "gatehouse.audit"]
        return found if len(found) >= 3 else None

    lines = {line["audit"]["id"]: line for line in wait_for(audit_lines)}
    for event in (signed_in, issued, logged_out):
        line = lines[event.id]
        assert line["request_id"] == event.request_id and line["level"] == "INFO"
        assert line["audit"] == event.model_dump(mode="json", exclude={"expires_at"})
    secrets = [token.json()["access_token"], token.json()["id_token"]]
    stored = " ".join(e.model_dump_json() for e in (signed_in, issued, logged_out))
    for secret in secrets:
        assert secret not in stored and secret not in server.log.read_text()


async def test_setting_up_an_authenticator_app_and_recovery_codes_is_audited(
    server: RunningServer,
) -> None:
    await totp_user(server, "dora")
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    try:
        dora = await store.users.find_by_login("dora")
        assert dora is not None
        [totp] = [c for c in await store.credentials.for_user(dora.id) if c.kind == "totp"]
    finally:
        await store.close()
    signed_in, codes, app, created = await events_of(server, dora.id, time.time())
    assert created.kind == "user_created" and created.details["by"].startswith("cli:")
    assert signed_in.kind == "sign_in" and "otp" in signed_in.details["amr"]
    assert app.kind == "mfa_changed" and app.client_id == "mfa-app"
    assert app.details == {"change": "added", "method": "totp", "credential_id": totp.id,
                           "name": totp.name}
    assert codes.kind == "mfa_changed"
    assert codes.details == {"change": "issued", "method": "recovery_codes", "count": 10}


async def test_client_credentials_tokens_are_audited_in_the_log_only(
    server: RunningServer,
) -> None:
    token = await client_credentials(server.issuer)
    rid = token.headers["x-request-id"]

    def audit_line() -> dict[str, Any] | None:
        return next((line for line in json_lines(server.log)
                     if line.get("logger") == "gatehouse.audit" and line["request_id"] == rid),
                    None)

    event = wait_for(audit_line)["audit"]
    assert event["kind"] == "token_issued" and event["client_id"] == "service"
    assert event["subject"] == "service" and event["details"]["grant_type"] == "client_credentials"
    assert await events_of(server, "service", time.time()) == []  # machine rate: not stored


async def test_events_expire_after_the_retention_and_are_purged(server: RunningServer) -> None:
    add_user(server, "erin")
    browser = FormBrowser(server.issuer)
    try:
        await sign_in_and_exchange(browser, "erin", PASSWORD)
    finally:
        await browser.close()
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    try:
        erin = await store.users.find_by_login("erin")
    finally:
        await store.close()
    assert erin is not None
    events = await events_of(server, erin.id, time.time())
    newest = events[0]
    assert await events_of(server, erin.id, newest.at + RETENTION - 1)
    later = max(e.expires_at for e in events)
    assert await events_of(server, erin.id, later) == []
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    try:
        await store.purge_expired(later)
        assert await store.collections["audit_events"].get(newest.id) is None
    finally:
        await store.close()


async def test_the_cli_lists_a_users_events_newest_first(server: RunningServer) -> None:
    browser = FormBrowser(server.issuer)
    try:
        await sign_in_and_exchange(browser)
    finally:
        await browser.close()
    listed = gatehouse(server.config, "audit", ALICE[0], "--limit", "2")
    assert listed.returncode == 0, listed.stderr
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [e["kind"] for e in events] == ["token_issued", "sign_in"]
    assert events[0]["at"] >= events[1]["at"] and "expires_at" not in events[0]
