"""The Device Authorization Grant (RFC 8628) over HTTP: openid-client polls while a person signs
in and allows the TV in Chromium; the polling answers, refusal, expiry, single use across two
workers, and guessed user codes."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from bs4 import BeautifulSoup
from playwright.async_api import Browser, expect

from core import digest
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import ALICE, RunningServer, serve_another, server_store, start_server

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")


async def device_codes(issuer: str, client_id: str = "tv-app", scope: str = "openid profile") -> dict[str, Any]:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{issuer}/device_authorization",
                                 data={"client_id": client_id, "scope": scope})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def poll(issuer: str, device_code: str, url: str | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{url or issuer}/token", data={
            "grant_type": GRANT, "client_id": "tv-app", "device_code": device_code})


async def decide(issuer: str, codes: dict[str, Any], decision: str) -> httpx2.Response:
    """A person opens the complete verification URI, signs in as alice, and decides."""
    async with FormBrowser(issuer) as browser:
        confirm = await browser.sign_in(codes["verification_uri_complete"], *ALICE)
        assert "Allow Living Room TV on your device?" in page_text(confirm), confirm.text
        assert codes["user_code"] in page_text(confirm)
        return await browser.click(confirm, ("decision", decision))


async def test_openid_client_polls_while_a_person_allows_the_tv_in_chromium(
    server: RunningServer, chromium: Browser,
) -> None:
    tv = OpenIdClient(server.issuer, "tv-app", "none")
    codes = tv.call("deviceAuthorization", params={"scope": "openid profile offline_access"})
    assert USER_CODE.fullmatch(codes["user_code"])
    assert codes["verification_uri"] == f"{server.issuer}/device" and codes["interval"] == 5
    polling = asyncio.create_task(asyncio.to_thread(tv.call, "devicePoll", response=codes))
    context = await chromium.new_context(locale="en-US")
    try:
        page = await context.new_page()
        await page.goto(codes["verification_uri"])
        await page.get_by_label("Code shown on your device").fill(codes["user_code"].lower())
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Username or email", exact=True).fill(ALICE[0])
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Password", exact=True).fill(ALICE[1])
        await page.get_by_role("button", name="Sign in").click()
        # The flow's consent step asks about offline access (unless alice agreed before), then
        # comes the device's own question.
        heading = page.get_by_role("heading", name=re.compile("^Allow Living Room TV"))
        await expect(heading).to_be_visible()
        if await heading.text_content() == "Allow Living Room TV to access your account?":
            await page.get_by_role("button", name="Allow").click()
        await expect(page.get_by_role("heading", name="Allow Living Room TV on your device?")).to_be_visible()
        await expect(page.get_by_text(codes["user_code"])).to_be_visible()
        # Allow comes first in the form, so it is shown first too (WCAG 2.2 SC 2.4.3).
        allow = await page.get_by_role("button", name="Allow").bounding_box()
        deny = await page.get_by_role("button", name="Deny").bounding_box()
        assert allow and deny and allow["x"] < deny["x"]
        await page.get_by_role("button", name="Allow").click()
        await expect(page.get_by_role("heading", name="Your device is connected")).to_be_visible()
    finally:
        await context.close()
    result = await asyncio.wait_for(polling, 60)
    assert result["claims"]["aud"] == "tv-app" and result["tokens"]["refresh_token"]
    assert result["tokens"]["scope"] == "openid profile offline_access"


async def test_polling_too_fast_slows_the_device_down(server: RunningServer) -> None:
    codes = await device_codes(server.issuer)
    first = await poll(server.issuer, codes["device_code"])
    assert first.status_code == 400 and first.json()["error"] == "authorization_pending"
    again = await poll(server.issuer, codes["device_code"])
    assert again.json()["error"] == "slow_down"


async def test_a_refused_device_gets_access_denied(server: RunningServer) -> None:
    codes = await device_codes(server.issuer)
    done = await decide(server.issuer, codes, "deny")
    assert "The device was refused" in page_text(done)
    answer = await poll(server.issuer, codes["device_code"])
    assert answer.json()["error"] == "access_denied"


async def test_two_racing_polls_at_two_workers_get_one_set_of_tokens(
    server: RunningServer, tmp_path: Path,
) -> None:
    other = serve_another(server, tmp_path)
    try:
        codes = await device_codes(server.issuer)
        done = await decide(server.issuer, codes, "allow")
        assert "Your device is connected" in page_text(done)
        answers = await asyncio.gather(
            poll(server.issuer, codes["device_code"]),
            poll(server.issuer, codes["device_code"], url=f"http://127.0.0.1:{other.port}"))
    finally:
        other.stop()
    assert sorted(a.status_code for a in answers) == [200, 400]
    refused = next(a for a in answers if a.status_code == 400)
    assert refused.json()["error"] == "invalid_grant"
    assert (await poll(server.issuer, codes["device_code"])).json()["error"] == "invalid_grant"


async def test_an_expired_device_code_is_expired_token_and_its_user_code_is_refused(
    server: RunningServer,
) -> None:
    codes = await device_codes(server.issuer)
    async with server_store(server) as store:
        await store.collections["device_codes"].set_field(
            digest(codes["device_code"]), "expires_at", time.time() - 1)
    assert (await poll(server.issuer, codes["device_code"])).json()["error"] == "expired_token"
    async with FormBrowser(server.issuer) as browser:
        page = await browser.open(codes["verification_uri_complete"])
    assert page.status_code == 400 and "not valid, or it has expired" in page_text(page)


async def test_the_confirmation_needs_its_token(server: RunningServer) -> None:
    codes = await device_codes(server.issuer)
    async with FormBrowser(server.issuer) as browser:
        confirm = await browser.sign_in(codes["verification_uri_complete"], *ALICE)
        form = BeautifulSoup(confirm.text, "html.parser").find("form")
        assert form is not None
        forged = await browser.http.post("/device/confirm", data={
            "device": form.find("input", attrs={"name": "device"})["value"],
            "csrf_token": "forged", "decision": "allow"})
    assert forged.status_code == 400 and "This form has expired" in page_text(forged)
    assert (await poll(server.issuer, codes["device_code"])).json()["error"] == "authorization_pending"


async def test_only_a_client_registered_for_the_grant_gets_codes(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{server.issuer}/device_authorization", data={"client_id": "public-app"})
        metadata = (await http.get(f"{server.issuer}/.well-known/openid-configuration")).json()
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"
    assert metadata["device_authorization_endpoint"] == f"{server.issuer}/device_authorization"
    assert GRANT in metadata["grant_types_supported"]


@pytest.fixture
def guessed_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own: the guesses below block the test's address there."""
    running = start_server(tmp_path)
    yield running
    running.stop()


async def test_guessed_user_codes_are_throttled(guessed_server: RunningServer) -> None:
    codes = await device_codes(guessed_server.issuer)
    statuses = []
    async with FormBrowser(guessed_server.issuer) as browser:
        for _ in range(31):
            page = await browser.open("/device?user_code=BBBB-BBBB")
            statuses.append(page.status_code)
        blocked = await browser.open(codes["verification_uri_complete"])  # even a right one
    # The 30th wrong code from one address blocks it (ADDRESS, steps/throttling.py).
    assert statuses[:29] == [400] * 29 and statuses[29:] == [429, 429]
    assert blocked.status_code == 429 and "Too many attempts" in page_text(blocked)
