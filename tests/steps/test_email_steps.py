"""`verify_email` and `reset_password`: emailed one-time codes, driven with FlowTester."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from bs4 import BeautifulSoup

from core import digest
from engine.testing import FlowTester
from mail.mailer import Mail, MailError
from steps import email_codes
from steps.base import BrowserFacts, Page
from steps.reset_password import INVALID_CODE
from steps.throttling import ACCOUNT, ACCOUNT_AT_ADDRESS, THROTTLED
from steps.verify_email import EXPIRED_CODE, WRONG_CODE
from store.records import UserRecord
from tests.steps.pages import render_step_page

NOW = 1_700_000_000.0
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"

FLOWS = """\
default_flow: default
flows:
  default:
    steps:
      identify:
        type: identify
        on: {success: password}
      password:
        type: password
        on: {success: verify, forgot: reset}
      verify:
        type: verify_email
        options: {max_attempts: 3, code_lifetime: 600, resend_interval: 30, mails_per_address: 20}
        on:
          success: done
          no_email: {to: deny, message: "No email address"}
      reset:
        type: reset_password
        options: {max_attempts: 3}
        on: {success: password, cancel: password}
"""


class FailingMailer:
    """A mailer whose server is down until `up` is set."""

    def __init__(self) -> None:
        self.up, self.sent = False, list[Mail]()

    async def send(self, mail: Mail) -> None:
        if not self.up:
            raise MailError("connection refused")
        self.sent.append(mail)


def code_in(mail: Mail) -> str:
    found = re.search(r"\b\d{8}\b", mail.text)
    assert found, mail.text
    return found.group()


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS, now=NOW) as flow_tester:
        yield flow_tester


async def alice(tester: FlowTester, **fields: object) -> UserRecord:
    return await tester.add_user("alice", password=PASSWORD, email="alice@example.com", **fields)


async def signed_in(tester: FlowTester, login: str = "alice") -> None:
    await tester.start()
    await tester.submit(login=login)
    await tester.submit(password=PASSWORD)


async def stored(tester: FlowTester, user: UserRecord) -> UserRecord:
    found = await tester.store.users.get(user.id)
    assert found is not None
    return found


# verify_email


async def test_verify_email_sends_one_code_and_marks_the_address_verified(
    tester: FlowTester,
) -> None:
    user = await alice(tester)
    await signed_in(tester)
    assert tester.step == "verify" and tester.page and tester.page.values["to"] == "a•••@example.com"
    await tester.engine.show(tester.run, tester.client)  # a reload does not send again
    [mail] = tester.mail
    assert (mail.to, mail.subject) == ("alice@example.com", "Your Gatehouse verification code")
    assert "verify your email address" in mail.text and "expires in 10 minutes" in mail.text
    assert "If you did not ask for this, ignore this email." in mail.text
    assert not (await stored(tester, user)).email_verified
    await tester.submit(code=code_in(mail))
    assert tester.result == "done" and tester.amr == ["pwd"]
    assert (await stored(tester, user)).email_verified


async def test_verify_email_passes_when_already_verified(tester: FlowTester) -> None:
    await alice(tester, email_verified=True)
    await signed_in(tester)
    assert tester.result == "done" and tester.path == ["identify", "password", "verify", "done"]
    assert tester.mail == []


async def test_verify_email_without_an_address_leaves_by_no_email(tester: FlowTester) -> None:
    await tester.add_user("bob", password=PASSWORD)
    await signed_in(tester, "bob")
    assert (tester.result, tester.message) == ("deny", "No email address")
    assert tester.mail == []


async def test_verify_email_wrong_code_then_right_code(tester: FlowTester) -> None:
    user = await alice(tester)
    await signed_in(tester)
    code = code_in(tester.mail[0])
    page = await tester.submit(code=f"{(int(code) + 1) % 10**8:08d}")
    assert tester.step == "verify" and page and page.errors == {"code": WRONG_CODE}
    page = await tester.submit(code="")
    assert page and page.errors == {"code": email_codes.ENTER_CODE}
    await tester.submit(code=f" {code[:4]} {code[4:]} ")  # spaces as copied from the mail
    assert tester.result == "done" and (await stored(tester, user)).email_verified


async def test_verify_email_burns_the_code_after_max_attempts(tester: FlowTester) -> None:
    user = await alice(tester)
    await signed_in(tester)
    code = code_in(tester.mail[0])
    for _ in range(3):
        page = await tester.submit(code="00000000" if code != "00000000" else "11111111")
        assert page and page.errors == {"code": WRONG_CODE}
    page = await tester.submit(code=code)
    assert tester.step == "verify" and page and page.errors == {"code": EXPIRED_CODE}
    assert not (await stored(tester, user)).email_verified
    tester.advance_clock(30)
    page = await tester.submit(resend="1")
    assert page and page.values["resent"] and page.errors == {} and len(tester.mail) == 2
    await tester.submit(code=code_in(tester.mail[1]))
    assert tester.result == "done" and (await stored(tester, user)).email_verified


async def test_verify_email_code_expires(tester: FlowTester) -> None:
    await alice(tester)
    await signed_in(tester)
    tester.advance_clock(600)
    page = await tester.submit(code=code_in(tester.mail[0]))
    assert tester.step == "verify" and page and page.errors == {"code": EXPIRED_CODE}


async def test_verify_email_resend_waits_for_the_interval(tester: FlowTester) -> None:
    await alice(tester)
    await signed_in(tester)
    tester.advance_clock(29)
    page = await tester.submit(resend="1")
    assert page and page.errors == {"page": email_codes.RESEND_TOO_SOON} and len(tester.mail) == 1
    tester.advance_clock(1)
    page = await tester.submit(resend="1")
    assert page and page.errors == {} and page.values["resent"] and len(tester.mail) == 2
    old, new = code_in(tester.mail[0]), code_in(tester.mail[1])
    if old != new:  # the new code replaces the old one
        page = await tester.submit(code=old)
        assert page and page.errors == {"code": WRONG_CODE}
    await tester.submit(code=new)
    assert tester.result == "done"


async def test_verify_email_mail_failure_is_a_page_error(tester: FlowTester) -> None:
    mailer = FailingMailer()
    tester.engine.services = replace(tester.engine.services, mailer=mailer)
    await alice(tester)
    await signed_in(tester)
    assert tester.page and tester.page.errors == {"page": email_codes.MAIL_FAILED}
    page = await tester.submit(resend="1")  # nothing went out: no interval to wait for
    assert page and page.errors == {"page": email_codes.MAIL_FAILED}
    mailer.up = True
    page = await tester.submit(resend="1")
    assert page and page.errors == {} and len(mailer.sent) == 1
    await tester.submit(code=code_in(mailer.sent[0]))
    assert tester.result == "done"


async def test_verify_email_scratch_keeps_no_plaintext_code(tester: FlowTester) -> None:
    await alice(tester)
    await signed_in(tester)
    code = code_in(tester.mail[0])
    saved = tester.run.model_dump_json()
    assert code not in saved and digest(code) in saved


# reset_password


async def forgot(tester: FlowTester, login: str = "alice") -> None:
    await tester.start()
    await tester.submit(login=login)
    await tester.choose("forgot")
    assert tester.step == "reset" and tester.page
    assert tester.page.template == "flow/reset_request.html"


async def test_reset_password_happy_path_then_sign_in_with_the_new_password(
    tester: FlowTester,
) -> None:
    user = await alice(tester)
    await forgot(tester, "alice@example.com")
    assert tester.page and tester.page.values == {"email": "alice@example.com"}
    page = await tester.submit(email="Alice@Example.com")
    assert page and page.template == "flow/reset_password.html"
    [mail] = tester.mail
    assert (mail.to, mail.subject) == ("alice@example.com", "Your Gatehouse password reset code")
    assert "new password" in mail.text and "If you did not ask for this, ignore this email." in mail.text
    await tester.submit(code=code_in(mail), password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    # Not signed in: the password step asks for the new password, for the right account.
    assert tester.step == "password" and tester.subject is None and tester.amr == []
    assert tester.page and tester.page.values == {"login": "alice", "identified": True}
    changed = await stored(tester, user)
    assert changed.email_verified and changed.password_hash != user.password_hash
    page = await tester.submit(password=PASSWORD)
    assert page and page.errors  # the old password no longer works
    await tester.submit(password=NEW_PASSWORD)
    assert tester.result == "done" and tester.amr == ["pwd"] and tester.subject == user.id
    assert len(tester.mail) == 1  # verified by the reset: verify_email sends nothing


async def test_a_reset_lifts_the_block_that_failures_from_everywhere_put_on_the_account(
    tester: FlowTester,
) -> None:
    await alice(tester)
    for n in range(ACCOUNT.max_failures):
        tester.browser = BrowserFacts(client_address=f"198.51.100.{n}")
        await tester.start()
        await tester.submit(login="alice")
        await tester.submit(password="wrong")
    tester.browser = BrowserFacts(client_address="203.0.113.5")
    await tester.start()
    await tester.submit(login="alice")
    page = await tester.submit(password=PASSWORD)
    assert page is not None and page.errors == {"password": THROTTLED}
    await forgot(tester)
    await tester.submit(email="alice@example.com")
    await tester.submit(
        code=code_in(tester.mail[-1]), password=NEW_PASSWORD, password_confirm=NEW_PASSWORD
    )
    await tester.submit(password=NEW_PASSWORD)
    assert tester.result == "done"


async def test_reset_password_does_not_reveal_whether_an_account_exists(
    tester: FlowTester,
) -> None:
    await alice(tester)
    await forgot(tester)
    assert tester.page and tester.page.values == {"email": ""}  # "alice" is not an address
    unknown = await tester.submit(email="nobody@example.com")
    assert tester.mail == []
    unknown_scratch = sorted(tester.run.scratch["default/reset"])
    wrong_unknown = await tester.submit(code="12345678", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)

    await forgot(tester)
    known = await tester.submit(email="alice@example.com")
    assert len(tester.mail) == 1
    code = code_in(tester.mail[0])
    wrong = "12345678" if code != "12345678" else "87654321"
    wrong_known = await tester.submit(code=wrong, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert unknown and known and wrong_unknown and wrong_known
    assert (unknown.template, unknown.errors, unknown.actions) == (
        known.template, known.errors, known.actions
    )
    assert unknown.values.keys() == known.values.keys()
    assert unknown_scratch == sorted(tester.run.scratch["default/reset"])
    assert wrong_unknown.errors == wrong_known.errors == {"code": INVALID_CODE}


async def test_reset_password_username_is_not_an_email_address(tester: FlowTester) -> None:
    await alice(tester)
    await forgot(tester)
    page = await tester.submit(email="alice")
    assert page and page.template == "flow/reset_request.html" and page.errors.keys() == {"email"}
    assert tester.mail == []


async def test_reset_password_expired_and_burnt_codes_are_invalid(tester: FlowTester) -> None:
    user = await alice(tester)
    await forgot(tester)
    await tester.submit(email="alice@example.com")
    code = code_in(tester.mail[0])
    wrong = "12345678" if code != "12345678" else "87654321"
    for _ in range(3):
        page = await tester.submit(code=wrong, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
        assert page and page.errors == {"code": INVALID_CODE}
    page = await tester.submit(code=code, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert page and page.errors == {"code": INVALID_CODE}  # burnt after 3 wrong tries
    tester.advance_clock(30)
    await tester.submit(resend="1")
    tester.advance_clock(900)
    page = await tester.submit(code=code_in(tester.mail[1]), password=NEW_PASSWORD,
                               password_confirm=NEW_PASSWORD)
    assert page and page.errors == {"code": INVALID_CODE}  # expired
    assert (await stored(tester, user)).password_hash == user.password_hash


async def test_reset_password_policy_errors(tester: FlowTester) -> None:
    user = await tester.add_user("wonderland-alice", PASSWORD, email="alice@example.com")
    await forgot(tester, "wonderland-alice")
    await tester.submit(email="alice@example.com")
    code = code_in(tester.mail[0])
    wrong = "12345678" if code != "12345678" else "87654321"

    async def errors(password: str, confirm: str | None = None, typed: str = code) -> dict[str, str]:
        page = await tester.submit(code=typed, password=password, password_confirm=confirm or password)
        assert page and tester.step == "reset"
        return page.errors

    assert await errors("") == {"password": "Enter a new password."}
    assert await errors("short") == {"password": "That password is too short."}
    assert await errors("password1234") == {
        "password": "That password is too common. Choose another one."
    }
    assert await errors(NEW_PASSWORD, "something else") == {
        "password_confirm": "The passwords do not match."
    }
    same_as_personal = {"password": "Your password cannot be your username or email."}
    assert await errors("alice@example.com") == same_as_personal
    # The username is named only once the code is right: it would tell who owns the address.
    assert await errors("Wonderland-Alice", typed=wrong) == {"code": INVALID_CODE}
    assert await errors("Wonderland-Alice") == same_as_personal
    # Policy errors do not spend the code (one wrong try of 3 so far): it still works.
    await tester.submit(code=code, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert tester.step == "password" and tester.page
    assert tester.page.values["login"] == "wonderland-alice"
    assert (await stored(tester, user)).password_hash != user.password_hash


async def test_reset_password_keeps_the_typed_code_when_only_the_password_is_refused(
    tester: FlowTester,
) -> None:
    await tester.add_user("wonderland-alice", PASSWORD, email="alice@example.com")
    await forgot(tester, "wonderland-alice")
    await tester.submit(email="alice@example.com")
    code = code_in(tester.mail[0])
    wrong = "12345678" if code != "12345678" else "87654321"

    async def shown(typed: str, password: str, confirm: str | None = None) -> str:
        page = await tester.submit(code=typed, password=password, password_confirm=confirm or password)
        assert page and page.errors and tester.step == "reset"
        field = BeautifulSoup(render_step_page(page), "html.parser").find("input", id="code")
        assert field is not None
        return str(field.get("value", ""))

    assert await shown(code, "short") == code  # the policy
    assert await shown(code, NEW_PASSWORD, "something else") == code  # the copies differ
    assert await shown(code, "Wonderland-Alice") == code  # right code, password names the user
    assert await shown(wrong, NEW_PASSWORD) == ""  # a wrong code is not kept
    await tester.submit(code=code, password=NEW_PASSWORD, password_confirm=NEW_PASSWORD)
    assert tester.step == "password"


async def test_reset_password_says_the_password_was_changed_and_is_audited(
    tester: FlowTester,
) -> None:
    user = await alice(tester)
    await forgot(tester)
    await tester.submit(email="alice@example.com")
    assert tester.page and tester.page.notice is None
    await tester.submit(code=code_in(tester.mail[0]), password=NEW_PASSWORD,
                        password_confirm=NEW_PASSWORD)
    assert tester.step == "password" and tester.page
    assert tester.page.notice == "Your password was changed."
    html = BeautifulSoup(render_step_page(tester.page), "html.parser")
    notice = html.find("p", class_="notice")
    assert notice is not None and notice.get_text() == "Your password was changed."
    page = await tester.submit(password=PASSWORD)  # the old one: the notice has been read
    assert page and page.errors and page.notice is None
    [event] = [e for e in await tester.store.audit.for_subject(user.id, tester.now)
               if e.kind == "password_reset"]
    assert event.client_id == "test-client"


async def test_reset_password_prefills_only_an_address_the_person_typed(tester: FlowTester) -> None:
    await alice(tester)
    await forgot(tester, "alice")
    assert tester.page and tester.page.values == {"email": ""}  # the account's address stays hidden
    await forgot(tester, "Alice@Example.com")
    assert tester.page and tester.page.values == {"email": "Alice@Example.com"}


async def test_reset_password_resend_interval_cancel_and_restart(tester: FlowTester) -> None:
    await alice(tester)
    await forgot(tester)
    await tester.submit(email="alice@example.com")
    page = await tester.submit(resend="1")
    assert page and page.errors == {"page": email_codes.RESEND_TOO_SOON} and len(tester.mail) == 1
    page = await tester.submit(restart="1")
    assert page and page.template == "flow/reset_request.html"
    page = await tester.submit(email="alice@example.com")
    assert page and page.errors == {"email": email_codes.RESEND_TOO_SOON}
    tester.advance_clock(30)
    page = await tester.submit(email="alice@example.com")
    assert page and page.template == "flow/reset_password.html" and len(tester.mail) == 2
    await tester.choose("cancel")
    assert tester.step == "password"


async def test_reset_password_mail_failure_looks_the_same(tester: FlowTester) -> None:
    tester.engine.services = replace(tester.engine.services, mailer=FailingMailer())
    await alice(tester)
    await forgot(tester)
    page = await tester.submit(email="alice@example.com")
    assert page and page.template == "flow/reset_password.html" and page.errors == {}


async def test_reset_password_scratch_keeps_no_plaintext_code(tester: FlowTester) -> None:
    await alice(tester)
    await forgot(tester)
    await tester.submit(email="alice@example.com")
    code = code_in(tester.mail[0])
    saved = tester.run.model_dump_json()
    assert code not in saved and digest(code) in saved


# templates


def render(page: Page) -> BeautifulSoup:
    return BeautifulSoup(render_step_page(page), "html.parser")


def field(soup: BeautifulSoup, name: str) -> dict[str, str]:
    found = soup.find("input", attrs={"name": name})
    assert found is not None, name
    return {key: str(value) for key, value in found.attrs.items()}


async def test_code_and_password_fields_help_browsers_and_password_managers(
    tester: FlowTester,
) -> None:
    await alice(tester)
    await signed_in(tester)
    assert tester.page
    page = await tester.submit(code="1")
    assert page
    soup = render(page)
    code = field(soup, "code")
    assert (code["autocomplete"], code["inputmode"], code["aria-invalid"]) == (
        "one-time-code", "numeric", "true"
    )
    assert soup.find(id="code-error") and soup.find("button", attrs={"name": "resend"})
    assert "a•••@example.com" in soup.get_text()

    await forgot(tester)
    assert tester.page
    assert field(render(tester.page), "email")["autocomplete"] == "email"
    page = await tester.submit(email="alice@example.com")
    assert page
    soup = render(page)
    assert field(soup, "code")["autocomplete"] == "one-time-code"
    assert field(soup, "password")["autocomplete"] == "new-password"
    assert field(soup, "password_confirm")["autocomplete"] == "new-password"
    assert "If an account exists for alice@example.com, we sent a code to it." in soup.get_text()
    assert soup.find("button", attrs={"value": "cancel"})  # "Back to sign in", wired


async def test_parallel_guesses_on_one_run_version_cannot_share_an_attempt() -> None:
    from store import StaleVersionError

    flows = """\
flows:
  default:
    steps:
      password: {type: password, on: {success: verify}}
      verify: {type: verify_email, on: {success: done, no_email: deny}}
"""
    async with FlowTester(flows) as tester:
        await tester.add_user("zoe", "a long passphrase", email="zoe@example.com")
        await tester.start()
        await tester.submit(login="zoe", password="a long passphrase")
        assert tester.step == "verify"
        copies = [await tester.store.runs.get(tester.run.id, tester.now) for _ in range(2)]
        first, second = copies
        assert first is not None and second is not None
        form = {"_step": tester.engine.position(first), "code": "00000000"}
        await tester.engine.submit(first, tester.client, form)
        with pytest.raises(StaleVersionError):
            await tester.engine.submit(second, tester.client, form)
        stored = await tester.store.runs.get(tester.run.id, tester.now)
        assert stored is not None and stored.scratch["default/verify"]["attempts"] == 1


# throttling across runs


async def test_wrong_email_codes_are_throttled_per_account_across_runs(tester: FlowTester) -> None:
    user = await alice(tester)
    tester.browser = BrowserFacts(client_address="192.0.2.7")
    answers = []
    for _ in range(ACCOUNT_AT_ADDRESS.max_failures):  # a fresh run (and code) each: one wrong each
        await signed_in(tester)
        page = await tester.submit(code="00000000")
        assert page is not None
        answers.append(page.errors["code"])
    assert answers == [WRONG_CODE] * (ACCOUNT_AT_ADDRESS.max_failures - 1) + [THROTTLED]
    await signed_in(tester)
    page = await tester.submit(code=code_in(tester.mail[-1]))
    assert page is not None and page.errors == {"code": THROTTLED}  # not even checked
    assert page.values["retry_in"] == 60
    tester.advance_clock(60)
    await tester.submit(code=code_in(tester.mail[-1]))
    assert tester.result == "done" and (await stored(tester, user)).email_verified


async def test_wrong_reset_codes_are_throttled_for_unknown_addresses_too(
    tester: FlowTester,
) -> None:
    await alice(tester)
    for email in ("alice@example.com", "nobody@example.com"):
        answers = []
        for _ in range(ACCOUNT.max_failures):
            await forgot(tester)
            await tester.submit(email=email)
            page = await tester.submit(
                code="00000000", password=NEW_PASSWORD, password_confirm=NEW_PASSWORD
            )
            assert page is not None
            answers.append(page.errors["code"])
        assert answers == [INVALID_CODE] * (ACCOUNT.max_failures - 1) + [THROTTLED], email
