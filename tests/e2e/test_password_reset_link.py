"""Password-reset links that an operator sends (`gatehouse users send-reset`), mailed to a real
SMTP server and followed over HTTP: opening the link changes nothing, its button is refused
without this browser's cookie, the flow asks for the new password then for the password itself,
the account page says the password changed, and the link never works twice."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import RunningServer, add_user_with_email, gatehouse, mailing_to, start_server
from tests.mail_catcher import MailCatcher

NEW = "a brand new passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mail: MailCatcher) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("reset-link"), **mailing_to(mail.port))
    yield running
    running.stop()


def send_link(server: RunningServer, mail: MailCatcher, email: str, count: int = 1) -> str:
    """Send `email`'s user a link with the CLI; the link's path and query, from the mail."""
    sent = gatehouse(server.config, "users", "send-reset", email)
    assert sent.returncode == 0, sent.stderr
    assert "a link to choose a new password was emailed" in sent.stdout
    body = mail.wait_for(email, count).get_content()
    found = re.search(re.escape(server.issuer) + r"(/account/reset-password\?token=[\w-]+)", body)
    assert found, body
    return found.group(1)


async def test_a_link_sets_a_new_password_once_and_is_audited(
    server: RunningServer, mail: MailCatcher
) -> None:
    email = add_user_with_email(server, "rosa")
    link = send_link(server, mail, email)
    async with FormBrowser(server.issuer) as web:
        await web.open(link)  # a mail scanner's visit uses nothing up
        page = await web.open(link)
        assert page.status_code == 200 and "the account rosa" in page_text(page)
        page = await web.submit(page)
        assert "Choose a new password" in page_text(page)
        page = await web.submit(page, password=NEW, password_confirm=NEW)
        assert "Enter your password" in page_text(page)
        page = await web.submit(page, password="rosa-password-1")  # the old one is gone
        assert "Enter your password" in page_text(page)
        page = await web.submit(page, password=NEW)
        assert str(page.url).endswith("/account?done=reset-password"), page.url
        assert "Your password was changed." in page_text(page)
        again = await web.open(link)
    assert again.status_code == 410 and "This link no longer works" in page_text(again)
    events = {e["kind"]: e for e in map(json.loads, gatehouse(
        server.config, "audit", "rosa").stdout.splitlines())}
    assert events["password_reset_sent"]["details"]["by"].startswith("cli:"), events
    assert events["password_reset_link_used"]["address"] == "127.0.0.1"
    assert events["sign_in"]["client_id"] == "gatehouse-account"


async def test_the_button_needs_the_cookie_of_the_browser_that_opened_the_link(
    server: RunningServer, mail: MailCatcher
) -> None:
    email = add_user_with_email(server, "sven")
    link = send_link(server, mail, email)
    async with FormBrowser(server.issuer) as web, FormBrowser(server.issuer) as other_site:
        page = await web.open(link)
        other_site.http.cookies.clear()
        forged = await other_site.submit(page)  # the same form, posted without the cookie
        assert forged.status_code == 400 and "This form has expired" in page_text(forged)
        page = await web.submit(page)  # the link still works for its own browser
        assert "Choose a new password" in page_text(page)


async def test_a_new_link_replaces_the_earlier_one(
    server: RunningServer, mail: MailCatcher
) -> None:
    email = add_user_with_email(server, "tove")
    first = send_link(server, mail, email)
    second = send_link(server, mail, email, count=2)
    async with FormBrowser(server.issuer) as web:
        assert (await web.open(first)).status_code == 410
        assert (await web.open(second)).status_code == 200
        bogus = await web.open("/account/reset-password?token=" + "x" * 43)
        assert bogus.status_code == 410


async def test_no_link_goes_to_a_user_without_an_address(server: RunningServer) -> None:
    added = gatehouse(server.config, "users", "add", "ulla", "--password-stdin",
                      stdin="ulla-password-1\n")
    assert added.returncode == 0, added.stderr
    refused = gatehouse(server.config, "users", "send-reset", "ulla")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "Error: the user has no email address"
