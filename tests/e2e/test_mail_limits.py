"""Hourly limits on code mails and sign-ups, over HTTP against a server that mails a real SMTP
server: a reset code reaches one address at most 5 times an hour (the page never changes), and a
client address's 11th sign-up in an hour is refused before its password is hashed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2
import pytest

from store import open_store
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import RunningServer, add_user_with_email, mailing_to, start_server
from tests.e2e.tokens import CALLBACK
from tests.mail_catcher import MailCatcher

PASSPHRASE = "a brand new passphrase"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, mail: MailCatcher) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("mail-limits"), **mailing_to(mail.port))
    yield running
    running.stop()


def authorize(**extra: str) -> str:
    return "/authorize?" + str(httpx2.QueryParams({
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid email", "state": "st", **extra,
    }))


def sent_to(mail: MailCatcher, address: str) -> int:
    return sum(address in r.rcpt_tos for r in mail.received)


async def ask_for_a_reset_code(server: RunningServer, email: str) -> str:
    """A new browser asks for a reset code for `email`; the text of the page it gets."""
    web = FormBrowser(server.issuer)
    try:
        page = await web.submit(await web.open(authorize()), login="someone")
        page = await web.click(page, ("_outcome", "forgot"))
        page = await web.submit(page, email=email)
        assert page.status_code == 200
        return page_text(page)
    finally:
        await web.close()


async def test_reset_codes_to_one_address_stop_at_five_an_hour(
    limited: RunningServer, mail: MailCatcher
) -> None:
    victim = add_user_with_email(limited, "victor")
    pages = [await ask_for_a_reset_code(limited, victim) for _ in range(6)]
    assert len(set(pages)) == 1 and f"If an account exists for {victim}" in pages[0]
    # A mail to another address, asked for after the sixth: once it is in, so would a sixth be.
    await ask_for_a_reset_code(limited, add_user_with_email(limited, "sentinel"))
    mail.wait_for("sentinel@example.com")
    mail.wait_for(victim, 5)
    assert sent_to(mail, victim) == 5


async def sign_up(server: RunningServer, n: int) -> httpx2.Response:
    web = FormBrowser(server.issuer)
    try:
        page = await web.open(authorize(prompt="create"))
        return await web.submit(page, username=f"newcomer{n}", email=f"newcomer{n}@example.com",
                                name="", password=PASSPHRASE, password_confirm=PASSPHRASE)
    finally:
        await web.close()


async def scratch_of(server: RunningServer, page: httpx2.Response) -> dict[str, object]:
    """The data of the shipped `register` step in the run of a flow page."""
    run_id = urlsplit(str(page.url)).path.removeprefix("/flow/")
    store = await open_store(f"sqlite:///{server.config.parent / 'gatehouse.db'}")
    try:
        run = await store.runs.get(run_id, time.time())
    finally:
        await store.close()
    assert run is not None
    return dict(run.scratch["register/register"])


async def test_the_eleventh_sign_up_from_one_address_is_refused_before_hashing(
    limited: RunningServer, mail: MailCatcher
) -> None:
    for n in range(10):
        page = await sign_up(limited, n)
        assert "Check your email" in page_text(page), page_text(page)
    assert "password_hash" in await scratch_of(limited, page)  # what an accepted form costs
    refused = await sign_up(limited, 10)
    assert "Too many sign-ups from your network. Try again later." in page_text(refused)
    assert "Check your email" not in page_text(refused)
    assert "password_hash" not in await scratch_of(limited, refused)
    mail.wait_for("newcomer9@example.com")
    assert sent_to(mail, "newcomer10@example.com") == 0
