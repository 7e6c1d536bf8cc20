"""The account page's guards, in process with a clock we move: sign-in through runs of its own,
CSRF, a recent sign-in before changes, another user's credentials, a finished sign-in answered
once. (Adding second factors through the page runs in Chromium: tests/e2e.)"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from werkzeug.wrappers import Response as WerkzeugResponse

from engine.sign_in_request import Prompt, SignInRequest
from oidc.provider import EXTENSION_KEY, Provider
from server.app import create_app
from server.settings import Settings
from steps import recovery_codes
from store.records import CredentialRecord, UserRecord

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long passphrase"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    settings = Settings(issuer="http://localhost", store="sqlite://:memory:",
                        flows_file=str(ROOT / "flows.yaml"), base_dir=tmp_path)
    quart_app = create_app(settings)
    async with quart_app.test_app():
        provider: Provider = quart_app.extensions[EXTENSION_KEY]
        for name in ("alice", "bob"):
            await provider.store.users.add(UserRecord(
                id=name, username=name, email_verified=True, created_at=time.time(),
                password_hash=await provider.engine.services.passwords.hash(PASSWORD),
            ))
        yield quart_app


def provider_of(app: Quart) -> Provider:
    provider: Provider = app.extensions[EXTENSION_KEY]
    return provider


def path_of(response: WerkzeugResponse) -> str:
    parts = urlsplit(response.headers["location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def follow(client: Client, response: WerkzeugResponse) -> WerkzeugResponse:
    while response.status_code in (302, 303):
        response = await client.get(path_of(response))
    return response


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def submit(client: Client, page: WerkzeugResponse, **form: str) -> WerkzeugResponse:
    html = await page.get_data(as_text=True)
    step = re.search(r'name="_step" value="([^"]+)"', html)
    assert step, html
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action
    return await client.post(action.group(1), form={
        "csrf_token": csrf(html), "_step": step.group(1), **form})


async def sign_in_asked(app: Quart, response: WerkzeugResponse) -> SignInRequest:
    """What the run that `response` sends the browser to asks of the sign-in."""
    assert response.status_code == 303 and path_of(response).startswith("/flow/"), response
    run = await provider_of(app).store.runs.get(path_of(response).split("/")[-1], time.time())
    assert run is not None
    return run.sign_in


async def signed_in(client: Client, username: str = "alice") -> WerkzeugResponse:
    """Open /account, sign in through its run; the account page."""
    page = await follow(client, await client.get("/account"))
    assert "to continue to Your account" in await page.get_data(as_text=True)
    page = await follow(client, await submit(client, page, login=username))
    return await follow(client, await submit(client, page, password=PASSWORD))


async def test_the_page_signs_people_in_through_a_run_of_its_own(app: Quart) -> None:
    client = app.test_client()
    asked = await sign_in_asked(app, await client.get("/account"))
    assert (asked.client_id, asked.finish.kind) == ("gatehouse-account", "account")
    assert asked.scopes == ["openid"] and not asked.prompt and asked.login_hint is None
    page = await signed_in(client)
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and "Signed in as" in html and "alice" in html
    assert "Add a passkey" in html and "Sign in again" not in html


async def test_a_change_without_the_csrf_token_is_refused(app: Quart) -> None:
    client = app.test_client()
    await signed_in(client)
    refused = await client.post("/account/forget-browsers", form={"csrf_token": "forged"})
    assert refused.status_code == 400
    user = await provider_of(app).store.users.get("alice")
    assert user is not None and user.devices_forgotten_at == 0


async def test_changes_need_a_recent_sign_in(app: Quart) -> None:
    client = app.test_client()
    page = await signed_in(client)
    token = csrf(await page.get_data(as_text=True))
    provider = provider_of(app)
    later = time.time() + provider.account_reauth_seconds + 5
    provider.clock = lambda: later
    html = await (await client.get("/account")).get_data(as_text=True)
    assert "Sign in again" in html and "Add a passkey" not in html
    asked = await sign_in_asked(app, await client.post(
        "/account/actions/add-passkey", form={"csrf_token": token}))
    assert asked.prompt == {Prompt.LOGIN} and asked.login_hint == "alice"
    forget = await client.post("/account/forget-browsers", form={"csrf_token": token})
    assert (await sign_in_asked(app, forget)).prompt == {Prompt.LOGIN}
    user = await provider.store.users.get("alice")
    assert user is not None and user.devices_forgotten_at == 0


async def test_forgetting_browsers_voids_remembered_ones(app: Quart) -> None:
    client = app.test_client()
    page = await signed_in(client)
    done = await client.post("/account/forget-browsers",
                             form={"csrf_token": csrf(await page.get_data(as_text=True))})
    assert path_of(done) == "/account?done=browsers-forgotten"
    user = await provider_of(app).store.users.get("alice")
    assert user is not None and user.devices_forgotten_at > 0


async def test_another_users_credential_cannot_be_removed(app: Quart) -> None:
    store = provider_of(app).store
    await store.credentials.add(CredentialRecord(
        id="webauthn:bobs-key", user_id="bob", kind="webauthn", name="Bob's key",
        created_at=time.time()))
    client = app.test_client()
    page = await signed_in(client)
    token = csrf(await page.get_data(as_text=True))
    refused = await client.post("/account/passkeys/webauthn:bobs-key/remove",
                                form={"csrf_token": token})
    assert refused.status_code == 404
    assert await store.credentials.get("webauthn:bobs-key") is not None


async def test_an_unknown_action_is_not_found(app: Quart) -> None:
    client = app.test_client()
    page = await signed_in(client)
    refused = await client.post("/account/actions/delete-everything",
                                form={"csrf_token": csrf(await page.get_data(as_text=True))})
    assert refused.status_code == 404


async def test_a_finished_sign_in_is_answered_once(app: Quart) -> None:
    client = app.test_client()
    await signed_in(client)
    page = await follow(client, await client.get("/account/sign-in-again"))
    assert 'value="alice"' in await page.get_data(as_text=True)  # prompt=login, login_hint
    page = await follow(client, await submit(client, page, login="alice"))
    run_id = re.search(r'action="/flow/([^"]+)"', await page.get_data(as_text=True))
    assert run_id
    response = await submit(client, page, password=PASSWORD)
    assert response.status_code == 303 and path_of(response) == "/account"  # answered at once
    again = await submit(client, page, password=PASSWORD)  # the form sent a second time
    assert again.status_code == 410  # the run is consumed
    assert (await client.get(f"/authorize/resume?run={run_id.group(1)}")).status_code == 410
    forged = await client.get("/authorize/resume?run=forged")
    assert forged.status_code == 410
    assert "This sign-in has expired" in await forged.get_data(as_text=True)


async def test_a_password_alone_cannot_change_a_two_factor_account(app: Quart) -> None:
    store = provider_of(app).store
    client = app.test_client()
    page = await signed_in(client)  # alice has no second factor yet: the password is enough
    token = csrf(await page.get_data(as_text=True))
    await store.credentials.add(CredentialRecord(
        id="webauthn:alices-key", user_id="alice", kind="webauthn", name="Key",
        created_at=time.time()))
    html = await (await client.get("/account")).get_data(as_text=True)
    assert "Sign in again" in html and "Remove" not in html
    asked = await sign_in_asked(app, await client.post(
        "/account/passkeys/webauthn:alices-key/remove", form={"csrf_token": token}))
    assert asked.prompt == {Prompt.LOGIN} and asked.acr_values == ["urn:gatehouse:loa:2"]
    assert await store.credentials.get("webauthn:alices-key") is not None


def asks_to_sign_in(response: WerkzeugResponse) -> bool:
    return response.status_code == 303 and path_of(response).startswith("/flow/")


def listed_sessions(html: str) -> list[str]:
    return re.findall(r'data-session="([^"]+)"', html)


async def test_the_page_lists_sessions_and_ends_another_one(app: Quart) -> None:
    laptop, phone = app.test_client(), app.test_client()
    await signed_in(phone)
    page = await signed_in(laptop)
    html = await page.get_data(as_text=True)
    store = provider_of(app).store
    sessions = await store.sessions.for_subject("alice", time.time())
    assert len(sessions) == 2 and listed_sessions(html) == [s.sid for s in sessions]
    assert html.count("This browser") == 1 and "Sign out everywhere" in html
    phone_sid = sessions[0].sid
    ended = await laptop.post(f"/account/sessions/{phone_sid}/end", form={"csrf_token": csrf(html)})
    assert path_of(ended) == "/account?done=session-ended"
    assert [s.sid for s in await store.sessions.for_subject("alice", time.time())] == [
        sessions[1].sid]
    assert asks_to_sign_in(await phone.get("/account"))
    again = await (await laptop.get("/account?done=session-ended")).get_data(as_text=True)
    assert "That session was signed out." in again and listed_sessions(again) == [sessions[1].sid]


async def test_sign_out_everywhere_ends_every_session_of_the_user_only(app: Quart) -> None:
    laptop, phone, bobs = app.test_client(), app.test_client(), app.test_client()
    await signed_in(phone)
    await signed_in(bobs, "bob")
    page = await signed_in(laptop)
    done = await laptop.post("/account/sign-out-everywhere",
                             form={"csrf_token": csrf(await page.get_data(as_text=True))})
    assert done.status_code == 200 and "You are signed out" in await done.get_data(as_text=True)
    assert "gh_session=;" in done.headers["set-cookie"]
    store = provider_of(app).store
    assert await store.sessions.for_subject("alice", time.time()) == []
    assert len(await store.sessions.for_subject("bob", time.time())) == 1
    events = await store.audit.for_subject("alice", time.time())
    assert [e.kind for e in events].count("session_ended") == 2
    for client in (laptop, phone):
        assert asks_to_sign_in(await client.get("/account"))


async def test_sessions_cannot_be_ended_without_the_csrf_token_or_for_another_user(
    app: Quart,
) -> None:
    alices, bobs = app.test_client(), app.test_client()
    await signed_in(bobs, "bob")
    page = await signed_in(alices)
    store = provider_of(app).store
    [bob_session] = await store.sessions.for_subject("bob", time.time())
    refused = await alices.post("/account/sign-out-everywhere", form={"csrf_token": "forged"})
    assert refused.status_code == 400
    token = csrf(await page.get_data(as_text=True))
    await alices.post(f"/account/sessions/{bob_session.sid}/end", form={"csrf_token": token})
    assert len(await store.sessions.for_subject("bob", time.time())) == 1
    assert len(await store.sessions.for_subject("alice", time.time())) == 1


async def follow_to(client: Client, response: WerkzeugResponse) -> tuple[str, WerkzeugResponse]:
    """Follow redirects; the path of the page they end on, and the page."""
    path = ""
    while response.status_code in (302, 303):
        path = path_of(response)
        response = await client.get(path)
    return path, response


async def start_action(client: Client, page: WerkzeugResponse, action: str) -> WerkzeugResponse:
    """Press one of the account page's action buttons; the first page of its journey."""
    started = await client.post(f"/account/actions/{action}",
                                form={"csrf_token": csrf(await page.get_data(as_text=True))})
    path, journey = await follow_to(client, started)
    assert path.startswith("/flow/"), path
    return journey


def shown_codes(html: str) -> list[str]:
    return re.findall(r"<code>([2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4})</code>", html)


async def test_new_recovery_codes_replace_the_old_ones_only_once_confirmed(app: Quart) -> None:
    store = provider_of(app).store
    old = await recovery_codes.replace_codes(store, "alice", time.time())
    old_ids = await recovery_codes.stored_ids(store, "alice")
    client = app.test_client()
    journey = await start_action(client, await signed_in(client), "new-recovery-codes")
    html = await journey.get_data(as_text=True)
    new = shown_codes(html)
    assert len(new) == 10 and set(new).isdisjoint(old)
    # Shown, and reloaded: the account still has (and lists) its old codes only.
    assert await recovery_codes.stored_ids(store, "alice") == old_ids
    account = await (await client.get("/account")).get_data(as_text=True)
    assert "10 unused codes left." in account
    assert await recovery_codes.use_code(store, "alice", old[0])
    account = await (await client.get("/account")).get_data(as_text=True)
    assert "9 unused codes left." in account
    path, page = await follow_to(client, await submit(client, journey, confirm="yes"))
    assert path == "/account?done=new-recovery-codes"
    assert await recovery_codes.stored_ids(store, "alice") == {
        recovery_codes.credential_id("alice", code) for code in new
    }
    html = await page.get_data(as_text=True)
    assert "You have new recovery codes." in html and "10 unused codes left." in html


async def test_an_unconfirmed_set_up_stores_no_recovery_codes(app: Quart) -> None:
    store = provider_of(app).store
    client = app.test_client()
    journey = await start_action(client, await signed_in(client), "new-recovery-codes")
    assert len(shown_codes(await journey.get_data(as_text=True))) == 10
    assert await recovery_codes.stored_ids(store, "alice") == set()
    account = await (await client.get("/account")).get_data(as_text=True)
    assert "0 unused codes left." in account


async def test_account_journeys_are_the_accounts_own_pages(app: Quart) -> None:
    client = app.test_client()
    journey = await start_action(client, await signed_in(client), "change-password")
    html = await journey.get_data(as_text=True)
    assert "Choose a new password" in html
    assert "to continue to" not in html and "Use another account" not in html
    assert re.search(r'<a href="/account">Back to your account</a>', html)
    path, page = await follow_to(client, await submit(
        client, journey, password="another long passphrase",
        password_confirm="another long passphrase"))
    assert path == "/account?done=change-password"
    assert '<p class="notice" role="status">Your password was changed.</p>' in (
        await page.get_data(as_text=True))


async def test_sign_out_ends_this_browsers_session_and_offers_to_sign_in_again(
    app: Quart,
) -> None:
    laptop, phone = app.test_client(), app.test_client()
    await signed_in(phone)
    page = await signed_in(laptop)
    html = await page.get_data(as_text=True)
    assert 'action="/account/sign-out"' in html
    store = provider_of(app).store
    [_, laptops] = await store.sessions.for_subject("alice", time.time())
    done = await laptop.post("/account/sign-out", form={"csrf_token": csrf(html)})
    assert done.status_code == 200 and "gh_session=;" in done.headers["set-cookie"]
    signed_out = await done.get_data(as_text=True)
    assert "You are signed out" in signed_out and "You can close this window" not in signed_out
    assert re.search(r'<a class="button choice" href="/account">Sign in again</a>', signed_out)
    assert laptops.sid not in [s.sid for s in await store.sessions.for_subject("alice", time.time())]
    assert len(await store.sessions.for_subject("alice", time.time())) == 1  # the phone's
    assert "logout" in [e.kind for e in await store.audit.for_subject("alice", time.time())]
    assert asks_to_sign_in(await laptop.get("/account"))
    assert (await phone.get("/account")).status_code == 200


async def test_sign_out_needs_the_csrf_token(app: Quart) -> None:
    client = app.test_client()
    await signed_in(client)
    refused = await client.post("/account/sign-out", form={"csrf_token": "forged"})
    assert refused.status_code == 400
    assert len(await provider_of(app).store.sessions.for_subject("alice", time.time())) == 1
    assert (await client.get("/account")).status_code == 200


async def test_an_expired_account_journey_starts_again_at_the_page(app: Quart) -> None:
    client = app.test_client()
    started = await client.post("/account/actions/change-password", form={
        "csrf_token": csrf(await (await signed_in(client)).get_data(as_text=True))})
    engine = provider_of(app).engine
    later = time.time() + engine.run_lifetime + 5
    engine.clock = lambda: later
    expired = await client.get(path_of(started))
    assert expired.status_code == 410
    assert re.search(r'<a [^>]*href="/account"[^>]*>Start again</a>', await expired.get_data(as_text=True))
