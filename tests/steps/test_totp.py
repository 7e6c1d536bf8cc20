"""`totp_setup` and `totp`: authenticator apps, enrolled and checked, driven with FlowTester."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pyotp
import pytest
from bs4 import BeautifulSoup

from engine.testing import FlowTester
from steps import totp
from steps.base import BrowserFacts, Page
from steps.throttling import ADDRESS, THROTTLED, Throttle
from store.records import AuthEvent, CredentialRecord, UserRecord
from tests.steps.pages import render_step_page

NOW = 1_700_000_000.0  # a multiple of 30: the start of a time step
PASSWORD = "a long passphrase"
SECRET = pyotp.random_base32()
LOA2 = "urn:gatehouse:loa:2"

FLOWS = """\
flows:
  default:
    steps:
      password: {type: password, on: {success: otp}}
      otp:
        type: totp
        options: {max_failures: 3, lockout_seconds: 300}
        on: {success: done, another_way: deny}
  enroll:
    steps:
      password: {type: password, on: {success: setup}}
      setup:
        type: totp_setup
        options: {issuer: Example Co}
        on: {success: done}
  enroll8:
    steps:
      password: {type: password, on: {success: setup}}
      setup: {type: totp_setup, options: {digits: 8}, on: {success: done}}
  misplaced:
    steps:
      setup: {type: totp_setup, on: {success: otp}}
      otp: {type: totp, on: {success: done}}
"""


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS, now=NOW) as flow_tester:
        yield flow_tester


def locked_for(page: Page | None) -> float:
    """The wait a throttled page announces."""
    assert page is not None and page.errors == {"code": THROTTLED}
    return float(page.values["retry_in"])


async def alice(tester: FlowTester) -> UserRecord:
    return await tester.add_user("alice", PASSWORD, email="alice@example.com")


async def with_totp(tester: FlowTester, **data: object) -> UserRecord:
    user = await alice(tester)
    sealed = tester.services.sealer.seal(SECRET)
    await tester.store.credentials.add(CredentialRecord(
        id="app", user_id=user.id, kind="totp", created_at=NOW,
        data={"secret": sealed, "digits": 6, "last_step": 0, "failures": 0, **data},
    ))
    return user


async def stored(tester: FlowTester) -> CredentialRecord:
    found = await tester.store.credentials.get("app")
    assert found is not None
    return found


async def sign_in(tester: FlowTester, flow: str = "default") -> Page | None:
    tester.client = tester.client.model_copy(update={"flow": flow})
    await tester.start()
    return await tester.submit(login="alice", password=PASSWORD)


def code(at: float, secret: str = SECRET, digits: int = 6) -> str:
    return pyotp.TOTP(secret, digits=digits).at(at)


def wrong_code(at: float) -> str:
    """A 6-digit code that matches no time step within one of `at`."""
    valid = {code(at + offset) for offset in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def enrolling_secret(tester: FlowTester) -> str:
    return tester.services.sealer.open(tester.run.scratch["enroll/setup"]["secret"])


def soup_of(page: Page | None) -> BeautifulSoup:
    assert page is not None
    return BeautifulSoup(render_step_page(page), "html.parser")


def text_of(soup: BeautifulSoup, name: str, **attrs: Any) -> str:
    found = soup.find(name, attrs=attrs)
    assert found is not None, (name, attrs)
    return found.get_text()


# totp_setup


async def test_enrollment_saves_the_sealed_secret_only_after_a_right_code(
    tester: FlowTester,
) -> None:
    user = await alice(tester)
    page = await sign_in(tester, "enroll")
    assert tester.step == "setup" and page is not None
    secret = enrolling_secret(tester)
    assert len(secret) == 32 and secret not in tester.run.model_dump_json()
    assert page.values["uri"] == (
        f"otpauth://totp/Example%20Co:alice?secret={secret}&issuer=Example%20Co"
    )
    assert page.values["key"].replace(" ", "") == secret
    assert page.values["qr"].startswith("data:image/svg+xml")
    reloaded = await tester.engine.show(tester.run, tester.client)
    assert reloaded is not None and reloaded.values["key"] == page.values["key"]  # same secret

    page = await tester.submit(code=wrong_code(NOW))
    assert tester.step == "setup" and page is not None
    assert page.errors == {"code": totp.WRONG_CODE} and page.values["key"] == reloaded.values["key"]
    page = await tester.submit(code="")
    assert page is not None and page.errors == {"code": totp.ENTER_CODE}
    assert await tester.store.credentials.for_user(user.id) == []

    typed = code(NOW, secret)
    await tester.submit(code=f"{typed[:3]} {typed[3:]}")
    assert tester.result == "done" and tester.amr == ["pwd", "otp", "mfa"] and tester.acr == LOA2
    [credential] = await tester.store.credentials.for_user(user.id)
    assert (credential.kind, credential.name) == ("totp", "Authenticator app")
    assert credential.data["secret"] != secret and secret not in credential.model_dump_json()
    assert tester.services.sealer.open(credential.data["secret"]) == secret
    assert credential.data["digits"] == 6 and credential.data["failures"] == 0
    assert credential.data["last_step"] == int(NOW // 30)
    assert "secret" not in tester.run.scratch["enroll/setup"]


async def test_enrollment_code_cannot_be_used_again_to_sign_in(tester: FlowTester) -> None:
    await alice(tester)
    await sign_in(tester, "enroll")
    typed = code(NOW, enrolling_secret(tester))
    await tester.submit(code=typed)
    assert tester.result == "done"
    page = await sign_in(tester)
    assert tester.step == "otp"
    page = await tester.submit(code=typed)
    assert tester.step == "otp" and page is not None and page.errors == {"code": totp.REPLAYED_CODE}


async def test_enrollment_with_eight_digits(tester: FlowTester) -> None:
    user = await alice(tester)
    page = await sign_in(tester, "enroll8")
    assert page is not None and "&digits=8" in page.values["uri"]
    assert "issuer=Gatehouse" in page.values["uri"]
    secret = tester.services.sealer.open(tester.run.scratch["enroll8/setup"]["secret"])
    page = await tester.submit(code=code(NOW, secret)[:6] + "  ")  # a 6-digit code: wrong
    assert page is not None and page.errors == {"code": totp.WRONG_CODE}
    await tester.submit(code=code(NOW, secret, 8))
    assert tester.result == "done"
    [credential] = await tester.store.credentials.for_user(user.id)
    assert credential.data["digits"] == 8


async def test_enrollment_passes_without_a_page_when_the_user_has_an_app(
    tester: FlowTester,
) -> None:
    await with_totp(tester)
    await sign_in(tester, "enroll")
    assert tester.result == "done" and tester.path == ["password", "setup", "done"]
    assert tester.amr == ["pwd"]  # nothing proved by passing
    assert len(await tester.store.credentials.for_user((await stored(tester)).user_id)) == 1


async def test_totp_steps_before_anyone_is_identified_show_an_error(tester: FlowTester) -> None:
    tester.client = tester.client.model_copy(update={"flow": "misplaced"})
    page = await tester.start()
    assert tester.step == "setup" and page is not None
    assert page.errors == {"page": totp.NO_USER} and page.values == {"usable": False}
    page = await tester.submit(code="123456")
    assert tester.step == "setup" and page is not None and page.errors == {"page": totp.NO_USER}
    assert soup_of(page).find("input", attrs={"name": "code"}) is None


# totp


async def test_the_current_code_signs_in(tester: FlowTester) -> None:
    await with_totp(tester)
    page = await sign_in(tester)
    assert tester.step == "otp" and page is not None and page.values == {"usable": True}
    tester.advance_clock(7)
    await tester.submit(code=code(tester.now))
    assert tester.result == "done" and tester.amr == ["pwd", "otp", "mfa"] and tester.acr == LOA2
    credential = await stored(tester)
    assert credential.data["last_step"] == int(NOW // 30) and credential.last_used_at == NOW + 7


async def test_a_code_of_the_previous_step_works_once(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    previous = code(NOW - 30)
    await tester.submit(code=previous)
    assert tester.result == "done"
    await sign_in(tester)
    page = await tester.submit(code=previous)
    assert tester.step == "otp" and page is not None and page.errors == {"code": totp.REPLAYED_CODE}
    await tester.submit(code=code(NOW))  # a later step is still fine
    assert tester.result == "done"
    await sign_in(tester)
    page = await tester.submit(code=code(NOW))
    assert page is not None and page.errors == {"code": totp.REPLAYED_CODE}


async def test_codes_two_steps_away_are_wrong(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    for at in (NOW - 60, NOW + 60):
        page = await tester.submit(code=code(at))
        assert tester.step == "otp" and page is not None and page.errors == {"code": totp.WRONG_CODE}
    await tester.submit(code=code(NOW + 30))  # the next step is within the window
    assert tester.result == "done"


async def test_empty_and_malformed_codes_do_not_count(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    page = await tester.submit(code="  ")
    assert page is not None and page.errors == {"code": totp.ENTER_CODE}
    for typed in ("12345", "1234567", "12a456", "１２３４５６"):
        page = await tester.submit(code=typed)
        assert page is not None and page.errors == {"code": totp.WRONG_CODE}
    assert (await stored(tester)).data["failures"] == 0
    await tester.submit(code=wrong_code(NOW))
    assert (await stored(tester)).data["failures"] == 1


async def test_too_many_wrong_codes_lock_the_app_even_for_a_right_code(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    for _ in range(2):
        page = await tester.submit(code=wrong_code(NOW))
        assert page is not None and page.errors == {"code": totp.WRONG_CODE}
    page = await tester.submit(code=wrong_code(NOW))
    assert locked_for(page) == 300  # the page says how long to wait
    assert (await stored(tester)).data["blocked_until"] == NOW + 300
    page = await tester.submit(code=code(NOW))
    assert tester.step == "otp" and locked_for(page) == 300
    tester.advance_clock(299)
    page = await tester.submit(code=code(tester.now))
    assert locked_for(page) == 1
    tester.advance_clock(1)
    await tester.submit(code=code(tester.now))
    assert tester.result == "done"
    assert (await stored(tester)).data["failures"] == 0


async def test_wrong_codes_are_counted_across_runs(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    for _ in range(2):
        await tester.submit(code=wrong_code(NOW))
    await sign_in(tester)  # a new run does not start the count again
    await tester.submit(code=wrong_code(NOW))
    page = await tester.submit(code=code(NOW))
    assert tester.step == "otp" and locked_for(page) == 300


async def test_a_right_code_resets_the_count(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    for _ in range(2):
        await tester.submit(code=wrong_code(NOW))
    await tester.submit(code=code(NOW))
    assert tester.result == "done" and (await stored(tester)).data["failures"] == 0
    tester.advance_clock(30)
    await sign_in(tester)
    for _ in range(2):
        await tester.submit(code=wrong_code(tester.now))
    await tester.submit(code=code(tester.now))
    assert tester.result == "done"


async def test_a_guess_racing_another_request_is_rejected_unchecked(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    snapshot = await stored(tester)  # what a parallel request read before this one saved

    class Stale:
        def __init__(self, real: object) -> None:
            self.real = real

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

        async def for_user(self, user_id: str) -> list[CredentialRecord]:
            return [snapshot.model_copy(deep=True)]

    credentials = tester.store.credentials
    await credentials.update((await stored(tester)).model_copy(deep=True))  # the other request
    tester.store.credentials = Stale(credentials)  # type: ignore[assignment]
    page = await tester.submit(code=code(NOW))
    assert tester.step == "otp" and page is not None and page.errors == {"code": totp.WRONG_CODE}
    tester.store.credentials = credentials
    assert (await stored(tester)).data["last_step"] == 0  # the code was not used up


async def test_a_session_that_proved_possession_passes_without_a_page(tester: FlowTester) -> None:
    user = await with_totp(tester)
    pwd = AuthEvent(method="pwd", factor="knowledge", at=NOW - 60)
    otp = AuthEvent(method="otp", factor="possession", at=NOW - 60)
    await tester.start(session=(user, [pwd, otp]))
    assert tester.result == "done" and tester.path == ["password", "otp", "done"]
    assert (await stored(tester)).data["failures"] == 0
    await tester.start(session=(user, [pwd]))
    assert tester.step == "otp"  # a password alone does not skip the code


async def test_without_an_app_the_step_never_succeeds(tester: FlowTester) -> None:
    await alice(tester)
    page = await sign_in(tester)
    assert tester.step == "otp" and page is not None
    assert page.errors == {"page": totp.NO_AUTHENTICATOR} and page.values == {"usable": False}
    page = await tester.submit(code=code(NOW))
    assert tester.step == "otp" and page is not None
    assert page.errors == {"page": totp.NO_AUTHENTICATOR}
    soup = soup_of(page)
    assert soup.find("input", attrs={"name": "code"}) is None
    assert soup.find("button", attrs={"value": "another_way"})  # the wired way out
    await tester.choose("another_way")
    assert tester.result == "deny"


# templates


async def test_setup_page_shows_the_qr_code_link_and_grouped_key(tester: FlowTester) -> None:
    await alice(tester)
    soup = soup_of(await sign_in(tester, "enroll"))
    secret = enrolling_secret(tester)
    assert text_of(soup, "h1") == "Set up an authenticator app"
    image = soup.find("img", class_="qr")
    assert image is not None and str(image["src"]).startswith("data:image/svg+xml")
    link = soup.find("a", href=lambda href: bool(href) and href.startswith("otpauth://totp/"))
    assert link is not None and link.get_text() == "Open in an authenticator app on this device"
    key = soup.find("code", class_="secret-key")
    assert key is not None and key.get_text() == " ".join(
        secret[i : i + 4] for i in range(0, 32, 4)
    )
    field = soup.find("input", attrs={"name": "code"})
    assert field is not None and text_of(soup, "label", **{"for": "code"}) == "Authentication code"
    assert (field["autocomplete"], field["inputmode"], field["maxlength"]) == (
        "one-time-code", "numeric", "10"
    )
    assert "The code has 6 digits." in soup.get_text()
    assert soup.find("input", attrs={"name": "_step", "value": "enroll/setup"})


async def test_code_page_marks_the_field_invalid_on_error(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    soup = soup_of(await tester.submit(code=wrong_code(NOW)))
    assert text_of(soup, "h1") == "Enter the code from your authenticator app"
    field = soup.find("input", attrs={"name": "code"})
    assert field is not None and field["aria-invalid"] == "true"
    assert field["autocomplete"] == "one-time-code" and field["pattern"] == "[0-9 ]*"
    error = soup.find(id="code-error")
    assert error is not None and error.get_text() == totp.WRONG_CODE


async def test_each_lockout_in_a_row_lasts_twice_as_long(tester: FlowTester) -> None:
    await with_totp(tester)
    await sign_in(tester)
    for lasting in (300, 600, 1200):
        for _ in range(3):
            await tester.submit(code=wrong_code(tester.now))
        assert (await stored(tester)).data["blocked_until"] == tester.now + lasting
        tester.advance_clock(lasting)
    await tester.submit(code=code(tester.now))
    assert tester.result == "done"
    assert (await stored(tester)).data["lockouts"] == 0  # a right code starts over


async def refused() -> bool:
    return False


async def test_an_address_that_guessed_too_many_codes_waits_even_with_a_right_one(
    tester: FlowTester,
) -> None:
    await with_totp(tester)
    tester.browser = BrowserFacts(client_address="192.0.2.7")
    await sign_in(tester)
    guesser = Throttle(tester.store, totp.KIND, None, "192.0.2.7")
    for _ in range(ADDRESS.max_failures):  # wrong codes for other accounts, from this address
        await guesser.guess(NOW, refused)
    page = await tester.submit(code=code(NOW))
    assert locked_for(page) == 60
    assert (await stored(tester)).data["failures"] == 0  # the code was not even checked
    tester.browser = BrowserFacts(client_address="203.0.113.5")
    await sign_in(tester)
    await tester.submit(code=code(NOW))
    assert tester.result == "done"
