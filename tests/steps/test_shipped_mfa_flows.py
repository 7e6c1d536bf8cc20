"""The shipped flows.yaml's second-factor journeys, driven with FlowTester: MFA when enrolled,
remembered browsers, required enrollment, step-up and the passwordless flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest

from engine.testing import FlowTester
from steps.base import BrowserFacts
from steps.recovery_codes import replace_codes
from store.records import AuthEvent, ClientRecord, CredentialRecord, UserRecord
from tests.steps.soft_authenticator import SoftAuthenticator
from tests.steps.test_email_steps import code_in

SHIPPED = Path(__file__).resolve().parents[2] / "flows.yaml"
PASSWORD = "a long passphrase"
LOA2 = "urn:gatehouse:loa:2"


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(SHIPPED) as flow_tester:
        yield flow_tester


async def with_totp(tester: FlowTester, username: str = "alice") -> tuple[UserRecord, pyotp.TOTP]:
    user = await tester.add_user(username, PASSWORD, email_verified=True)
    secret = pyotp.random_base32()
    await tester.store.credentials.add(CredentialRecord(
        id=f"totp-{username}", user_id=user.id, kind="totp", name="App", created_at=tester.now,
        data={"secret": tester.services.sealer.seal(secret), "digits": 6, "last_step": 0},
    ))
    return user, pyotp.TOTP(secret)


def options(tester: FlowTester) -> str:
    assert tester.page is not None
    return str(tester.page.values["webauthn_options"])


async def with_passkey(tester: FlowTester, authenticator: SoftAuthenticator) -> UserRecord:
    user = await tester.add_user("alice", PASSWORD, email_verified=True)
    await tester.start(flow="enroll-mfa", session=(user, [AuthEvent(
        method="pwd", factor="knowledge", at=tester.now)]))
    await tester.submit(choice="passkey")
    await tester.submit(name="Key", credential=authenticator.create(options(tester)))
    assert tester.step == "recovery-codes"
    await tester.submit(confirm="yes")
    assert tester.result == "done"
    return user


async def test_a_user_with_an_app_is_asked_for_a_code_after_the_password(
    tester: FlowTester,
) -> None:
    _, totp = await with_totp(tester)
    await tester.start()
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert (tester.flow, tester.step) == ("mfa", "totp")
    await tester.submit(code=totp.at(tester.now))
    assert tester.step == "remember"
    await tester.submit(remember="no")
    assert tester.result == "done" and tester.amr == ["pwd", "otp", "mfa"]


async def test_a_remembered_browser_skips_the_second_factor(tester: FlowTester) -> None:
    user, _ = await with_totp(tester)
    tester.browser = BrowserFacts({user.id: tester.now})
    await tester.start()
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert tester.result == "done" and tester.amr == ["pwd"]


async def test_a_client_that_requires_mfa_makes_users_set_it_up(tester: FlowTester) -> None:
    await tester.add_user("bob", PASSWORD, email_verified=True)
    payroll = ClientRecord(client_id="payroll", redirect_uris=["https://p.example/cb"],
                           tags=["mfa-required"])
    await tester.start(client=payroll)
    await tester.submit(login="bob")
    await tester.submit(password=PASSWORD)
    assert (tester.flow, tester.step) == ("enroll-mfa", "choose")
    assert tester.page is not None and tester.page.values["title"] == "Set up a second way to sign in"
    await tester.submit(choice="totp")
    assert tester.step == "totp"


async def test_step_up_on_a_session_asks_only_for_the_second_factor(tester: FlowTester) -> None:
    user, totp = await with_totp(tester)
    session = (user, [AuthEvent(method="pwd", factor="knowledge", at=tester.now - 600)])
    await tester.start(session=session, acr_values=[LOA2])
    assert (tester.flow, tester.step) == ("mfa", "totp")
    await tester.submit(code=totp.at(tester.now))
    await tester.submit(remember="no")
    assert tester.result == "done" and tester.acr == LOA2


async def test_step_up_ignores_a_remembered_browser(tester: FlowTester) -> None:
    user, _ = await with_totp(tester)
    tester.browser = BrowserFacts({user.id: tester.now})
    await tester.start(acr_values=[LOA2])
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert (tester.flow, tester.step) == ("mfa", "totp")


async def test_step_up_adds_the_password_to_a_passkey_that_did_not_verify_the_user(
    tester: FlowTester,
) -> None:
    authenticator = SoftAuthenticator(verifies_user=False)
    await with_passkey(tester, authenticator)
    await tester.start(acr_values=[LOA2])
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.step == "password"
    await tester.submit(password=PASSWORD)
    assert tester.result == "done" and tester.acr == LOA2
    assert tester.amr == ["hwk", "user", "pwd", "mfa"]


async def test_step_up_takes_a_verifying_passkey_alone(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    await with_passkey(tester, authenticator)
    await tester.start(acr_values=[LOA2])
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.result == "done" and tester.acr == LOA2


async def test_the_last_recovery_code_leads_to_new_ones(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await with_passkey(tester, authenticator)
    # The codes are stored as digests only: replace them with one the test knows.
    [last] = await replace_codes(tester.store, user.id, tester.now, count=1)
    await tester.start(flow="sign-in")
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert (tester.flow, tester.step) == ("mfa", "passkey")
    await tester.choose("another_way")
    await tester.submit(choice="recovery_code")
    await tester.submit(code=last)
    assert tester.step == "new-recovery-codes"


async def test_passwordless_falls_back_to_username_and_password(tester: FlowTester) -> None:
    await tester.add_user("carol", PASSWORD, email_verified=True)
    await tester.start(flow="passwordless")
    assert tester.step == "passkey"
    await tester.choose("another_way")
    assert (tester.flow, tester.step) == ("sign-in", "identify")
    await tester.submit(login="carol")
    await tester.submit(password=PASSWORD)
    assert tester.result == "done" and tester.amr == ["pwd"]


async def test_a_password_reset_does_not_skip_the_second_factor(tester: FlowTester) -> None:
    user, totp = await with_totp(tester)
    user.email = "alice@example.com"
    await tester.store.users.update(user)
    await tester.start()
    await tester.submit(login="alice")
    await tester.choose("forgot")
    await tester.submit(email="alice@example.com")
    await tester.submit(code=code_in(tester.mail[-1]), password="a brand new passphrase",
                        password_confirm="a brand new passphrase")
    await tester.submit(password="a brand new passphrase")
    assert (tester.flow, tester.step) == ("mfa", "totp")
    await tester.submit(code=totp.at(tester.now))
    await tester.submit(remember="no")
    assert tester.result == "done" and tester.amr == ["pwd", "otp", "mfa"]


@pytest.mark.parametrize("path", ["prompt=create", "register, then sign in instead"])
async def test_every_way_in_sets_up_the_second_factor_a_client_requires(
    tester: FlowTester, path: str
) -> None:
    await tester.add_user("bob", PASSWORD, email_verified=True)
    payroll = ClientRecord(client_id="payroll", redirect_uris=["https://p.example/cb"],
                           tags=["mfa-required"])
    if path == "prompt=create":
        await tester.start(client=payroll, prompt=["create"])
        await tester.submit(username="carol", email="carol@example.com", name="",
                            password=PASSWORD + "!", password_confirm=PASSWORD + "!")
        await tester.submit(code=code_in(tester.mail[-1]))
        await tester.submit(accept="yes")
    else:
        await tester.start(client=payroll)
        await tester.choose("register")
        await tester.choose("sign_in")
        await tester.submit(login="bob")
        await tester.submit(password=PASSWORD)
    assert (tester.flow, tester.step) == ("enroll-mfa", "choose"), tester.path


async def test_a_passkey_on_the_sign_in_page_must_verify_the_user(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator(verifies_user=False)
    await with_passkey(tester, authenticator)
    await tester.start()
    page = await tester.submit(credential=authenticator.get(options(tester)))
    assert page is not None and page.errors == {"credential": "That passkey could not be checked. Try again."}
    assert tester.step == "identify" and tester.amr == []


async def test_a_reset_link_asks_for_the_new_password_then_the_second_factor(
    tester: FlowTester,
) -> None:
    """The link proves only the mailbox: after the new password comes the password itself, then
    the second factor, even on a browser remembered before the reset."""
    user, totp = await with_totp(tester)
    tester.browser = BrowserFacts({user.id: tester.now - 60})
    page = await tester.start(flow="reset-by-link", session=(user, []))
    assert tester.step == "choose" and page is not None and page.values["login"] == "alice"
    await tester.submit(password="a brand new passphrase", password_confirm="a brand new passphrase")
    assert tester.step == "password"
    await tester.submit(password=PASSWORD)  # the old one no longer works
    assert tester.step == "password"
    await tester.submit(password="a brand new passphrase")
    assert (tester.flow, tester.step) == ("mfa", "totp")
    await tester.submit(code=totp.at(tester.now))
    await tester.submit(remember="no")
    assert tester.result == "done" and tester.amr == ["pwd", "otp", "mfa"]


async def test_a_reset_link_does_not_tell_whether_a_guess_is_the_current_password(
    tester: FlowTester,
) -> None:
    """Someone with only the mailbox could otherwise test guesses of the password for free."""
    user, _ = await with_totp(tester)
    await tester.start(flow="reset-by-link", session=(user, []))
    page = await tester.submit(password=PASSWORD, password_confirm=PASSWORD)  # the current one
    assert tester.step == "password" and page is not None and not page.errors
