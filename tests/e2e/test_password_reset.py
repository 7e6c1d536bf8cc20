"""The "Forgot your password?" journey over HTTP, with codes mailed to a real SMTP server: the
address field shows only an address the person typed, a refused password keeps the typed code,
the password page then says the password was changed, and `gatehouse audit` lists the reset."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import RunningServer, add_user_with_email, gatehouse, mailing_to, start_server
from tests.e2e.tokens import CALLBACK
from tests.mail_catcher import MailCatcher

NEW = "judy's new passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mail: MailCatcher) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("password-reset"), **mailing_to(mail.port))
    yield running
    running.stop()


@pytest.fixture
async def web(server: RunningServer) -> AsyncIterator[FormBrowser]:
    browser = FormBrowser(server.issuer)
    yield browser
    await browser.close()


AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
}))


async def forgot(web: FormBrowser, login: str) -> httpx2.Response:
    page = await web.submit(await web.open(AUTHORIZE), login=login)
    return await web.click(page, ("_outcome", "forgot"))


def field_value(page: httpx2.Response, name: str) -> str:
    found = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": name})
    assert found is not None, page.text
    return str(found.get("value", ""))


async def test_the_address_is_prefilled_only_when_the_person_typed_it(
    server: RunningServer, web: FormBrowser
) -> None:
    email = add_user_with_email(server, "kim")
    page = await forgot(web, "kim")  # a username proves nothing: its address stays hidden
    assert field_value(page, "email") == "" and email not in page.text
    other = FormBrowser(server.issuer)
    try:
        page = await forgot(other, email)
        assert field_value(page, "email") == email
    finally:
        await other.close()


async def test_a_reset_keeps_the_code_says_the_password_changed_and_is_audited(
    server: RunningServer, web: FormBrowser, mail: MailCatcher
) -> None:
    email = add_user_with_email(server, "judy")
    page = await web.submit(await forgot(web, "judy"), email=email)
    code = mail.code_for(email)
    refused = await web.submit(page, code=code, password="short", password_confirm="short")
    assert "That password is too short." in page_text(refused)
    assert field_value(refused, "code") == code  # no need to copy it from the mail again
    page = await web.submit(refused, password=NEW, password_confirm=NEW)
    assert "Enter your password" in page_text(page)
    assert "Your password was changed." in page_text(page)
    wrong = await web.submit(page, password="judy-password-1")
    assert "Your password was changed." not in page_text(wrong)  # said once, then gone
    listed = gatehouse(server.config, "audit", "judy")
    assert listed.returncode == 0, listed.stderr
    events = [json.loads(line) for line in listed.stdout.splitlines()]
    [reset] = [e for e in events if e["kind"] == "password_reset"]
    assert reset["client_id"] == "demo-rp" and reset["address"] == "127.0.0.1"
