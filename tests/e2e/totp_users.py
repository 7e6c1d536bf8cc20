"""A user with an authenticator app, set up through the pages as a person would (the mfa-app
client requires a second factor, so its flow offers to set one up), and their sign-in with it."""

from __future__ import annotations

import time

import httpx2
import pyotp
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser
from tests.e2e.server import RunningServer
from tests.e2e.test_mfa_in_chromium import CHALLENGE, MFA_APP, PASSWORD, add_user

MFA_AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": MFA_APP[0], "redirect_uri": MFA_APP[1], "response_type": "code",
    "scope": "openid", "code_challenge": CHALLENGE, "code_challenge_method": "S256"}))


async def totp_user(server: RunningServer, username: str) -> str:
    """Add `username` (password PASSWORD) and set up their authenticator app: its secret."""
    add_user(server, username)
    browser = FormBrowser(server.issuer)
    try:
        page = await browser.open(MFA_AUTHORIZE)
        page = await browser.submit(await browser.submit(page, login=username), password=PASSWORD)
        page = await browser.click(page, ("choice", "totp"))
        key = BeautifulSoup(page.text, "html.parser").select_one(".secret-key")
        assert key is not None, page.text
        secret = key.get_text().replace(" ", "")
        page = await browser.submit(page, code=pyotp.TOTP(secret).now())
        answer = await browser.submit(page, confirm="yes")
        assert answer.is_redirect, answer.text
    finally:
        await browser.close()
    return secret


async def totp_sign_in(server: RunningServer, username: str, secret: str) -> httpx2.Response:
    """`username` signs in to mfa-app with their password and the app's next code (the code of
    the time step just past is already used), not remembering the browser; the answer that
    leaves the flow."""
    browser = FormBrowser(server.issuer)
    try:
        page = await browser.open(MFA_AUTHORIZE)
        page = await browser.submit(await browser.submit(page, login=username), password=PASSWORD)
        page = await browser.submit(page, code=pyotp.TOTP(secret).at(time.time() + 30))
        if "remember" in page.text and not page.is_redirect:
            page = await browser.click(page, ("remember", "no"))  # "Remember this browser?"
        return page
    finally:
        await browser.close()
