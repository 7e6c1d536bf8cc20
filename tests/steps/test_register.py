"""`register`: sign-up with declared fields and a policy-checked password, then sign-in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from engine.loader import FlowsError, load_flows_text
from engine.testing import FlowTester
from steps import email_codes
from steps.base import Page
from steps.register import CODE_PAGE, INVALID_CODE, SUBJECT, TAKEN_SUBJECT, RegisterStep
from store.records import ClientRecord
from tests.steps.pages import render_step_page
from tests.steps.test_email_steps import code_in

PASSWORD = "correct horse battery staple"

FLOWS = """\
default_flow: signin
registration_flow: signup
flows:
  signin:
    steps:
      identify:
        type: identify
        on:
          success: password
      password:
        type: password
        on:
          success: done
  signup:
    steps:
      register:
        type: register
        options:
          fields:
            - {name: username, label: Username, pattern: "[A-Za-z0-9._-]{3,64}"}
            - {name: email, label: Email, type: email}
            - {name: name, label: Full name, min_length: 2, max_length: 40}
            - {name: birthdate, label: Date of birth, type: date, required: false}
            - {name: phone_number, label: Phone, type: tel, required: false}
            - {name: newsletter, label: Send me news, type: checkbox, required: false}
        on:
          success: done
          sign_in: identify
      identify:
        type: identify
        on:
          success: password
      password:
        type: password
        on:
          success: done
  bare:
    steps:
      register:
        type: register
        on:
          success: done
"""

GOOD = {
    "username": "bob",
    "email": "Bob@Example.COM",
    "name": "Bob Builder",
    "birthdate": "1990-05-17",
    "phone_number": "",
    "newsletter": "1",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
}


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS) as running:
        await running.add_user("alice", password=PASSWORD, email="alice@example.com")
        yield running


async def sign_up(tester: FlowTester, **changes: str) -> Page | None:
    await tester.start(prompt=["create"])
    assert tester.step == "register"
    return await tester.submit(**{**GOOD, **changes})


def errors_of(page: Page | None) -> dict[str, str]:
    assert page is not None
    return page.errors


def kept(page: Page | None) -> dict[str, Any]:
    assert page is not None
    return {f["name"]: f["value"] for f in page.values["fields"]}


async def signed_up(tester: FlowTester, **changes: str) -> Page | None:
    """Sign up, then type the code mailed to the address."""
    page = await sign_up(tester, **changes)
    assert page is not None and page.template == CODE_PAGE, page
    return await tester.submit(code=code_in(tester.mail[-1]))


async def test_sign_up_creates_the_user_once_the_mailed_code_is_typed(tester: FlowTester) -> None:
    page = await sign_up(tester)
    assert page is not None and page.template == CODE_PAGE and page.values["to"] == "B•••@example.com"
    [mail] = tester.mail
    assert (mail.to, mail.subject) == ("Bob@example.com", SUBJECT)
    assert await tester.store.users.find_by_login("bob") is None  # not before the code
    assert PASSWORD not in str(tester.run.scratch)  # only its argon2id hash waits for the code
    assert await tester.submit(code=code_in(mail)) is None
    assert tester.result == "done" and tester.amr == ["pwd"]
    user = await tester.store.users.find_by_login("bob")
    assert user is not None and tester.subject == user.id
    assert (user.username, user.email, user.email_verified) == ("bob", "Bob@example.com", True)
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert user.claims == {"name": "Bob Builder", "birthdate": "1990-05-17", "newsletter": True}
    assert user.created_at == tester.now and len(user.id) >= 20
    assert tester.run.scratch["_flow"]["login"] == "bob"


async def test_the_new_user_can_sign_in_afterwards(tester: FlowTester) -> None:
    await signed_up(tester)
    registered = tester.subject
    await tester.start()
    assert tester.step == "identify"
    await tester.submit(login="bob@example.com")
    await tester.submit(password=PASSWORD)
    assert tester.result == "done" and tester.subject == registered and tester.amr == ["pwd"]


async def test_unticked_checkbox_is_false_and_empty_optional_fields_are_left_out(
    tester: FlowTester,
) -> None:
    await signed_up(tester, newsletter="", birthdate="")
    user = await tester.store.users.find_by_login("bob")
    assert user is not None and user.claims == {"name": "Bob Builder", "newsletter": False}


async def test_every_field_error_is_shown_at_once_and_values_are_kept(
    tester: FlowTester,
) -> None:
    page = await sign_up(
        tester, username="no spaces!", email="not-an-email", name="", birthdate="17/05/1990",
        password="s3cr3t", password_confirm="s3cr3t?",
    )
    assert errors_of(page) == {
        "username": "That is not in the expected format.",
        "email": "Enter a valid email address.",
        "name": "Fill in this field.",
        "birthdate": "Enter a valid date.",
        "password": "That password is too short.",
        "password_confirm": "The passwords do not match.",
    }
    assert kept(page) == {
        "username": "no spaces!", "email": "not-an-email", "name": "", "birthdate": "17/05/1990",
        "phone_number": "", "newsletter": True,
    }
    assert "s3cr3t" not in repr(page)  # the password is never sent back
    assert tester.step == "register" and tester.subject is None
    assert await tester.store.users.find_by_login("no spaces!") is None


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("name", "B", "That is too short."),
        ("name", "B" * 41, "That is too long."),
        ("birthdate", "2023-02-30", "Enter a valid date."),
        ("username", "", "Fill in this field."),
        ("email", "   ", "Fill in this field."),
        ("email", "bob@@example.com", "Enter a valid email address."),
    ],
)
async def test_field_rules(tester: FlowTester, field: str, value: str, error: str) -> None:
    assert errors_of(await sign_up(tester, **{field: value})) == {field: error}


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("", "Choose a password."),
        ("nine char", "That password is too short."),
        ("1234567890", "That password is too common. Choose another one."),
        ("bob.the.builder", "Your password cannot be your username or email."),
        ("Bob.Builder.1990", "Your password cannot be your username or email."),
    ],
)
async def test_password_policy(tester: FlowTester, password: str, error: str) -> None:
    page = await sign_up(
        tester, username="bob.the.builder", email="bob.builder.1990@example.com",
        password=password, password_confirm=password,
    )
    assert errors_of(page) == {"password": error}


async def test_confirmation_must_match(tester: FlowTester) -> None:
    page = await sign_up(tester, password_confirm=PASSWORD.upper())
    assert errors_of(page) == {"password_confirm": "The passwords do not match."}


async def test_a_taken_username_is_reported_on_the_username(tester: FlowTester) -> None:
    page = await sign_up(tester, username="ALICE")
    assert errors_of(page) == {"username": "That username is taken."}
    assert kept(page)["username"] == "ALICE" and tester.subject is None


async def test_a_taken_email_gets_the_same_page_and_its_owner_a_notice(
    tester: FlowTester,
) -> None:
    free = await sign_up(tester, email="new@example.com")
    taken = await sign_up(tester, email="ALICE@EXAMPLE.COM")
    assert free is not None and taken is not None
    assert (free.template, free.errors) == (taken.template, taken.errors) == (CODE_PAGE, {})
    assert render(free).replace("n•••@", "A•••@") == render(taken)
    notice = tester.mail[-1]
    assert (notice.to, notice.subject) == ("ALICE@example.com", TAKEN_SUBJECT)
    assert not re.search(r"\d{8}", notice.text) and "Forgot your password?" in notice.text
    answers = [await tester.submit(code="12345678") for _ in range(2)]
    assert [errors_of(a) for a in answers] == [{"code": INVALID_CODE}] * 2
    assert await tester.store.users.find_by_login("bob") is None
    assert tester.step == "register" and tester.subject is None


async def test_the_code_page_can_resend_and_go_back_to_the_details(tester: FlowTester) -> None:
    await sign_up(tester)
    page = await tester.submit(resend="1")
    assert page is not None and page.errors == {"page": email_codes.RESEND_TOO_SOON}
    tester.advance_clock(30)
    page = await tester.submit(resend="1")
    assert page is not None and page.values["resent"] and len(tester.mail) == 2
    page = await tester.submit(code=code_in(tester.mail[0]))  # the first code was replaced
    assert errors_of(page) == {"code": INVALID_CODE}
    page = await tester.submit(restart="1")
    assert page is not None and page.template == "flow/register.html"
    assert kept(page)["username"] == "bob" and kept(page)["email"] == "Bob@example.com"


async def test_without_verify_email_a_taken_email_is_said_on_the_page() -> None:
    flows = FLOWS.replace("        options:\n          fields:", "        options:\n"
                          "          verify_email: false\n          fields:", 1)
    async with FlowTester(flows) as tester:
        await tester.add_user("alice", password=PASSWORD, email="alice@example.com")
        page = await sign_up(tester, email="ALICE@EXAMPLE.COM")
        assert errors_of(page) == {"email": "An account with that email already exists."}
        assert await sign_up(tester) is None and tester.result == "done" and tester.mail == []
        user = await tester.store.users.find_by_login("bob")
        assert user is not None and not user.email_verified


async def test_login_hint_prefills_the_email_only_when_it_is_one(tester: FlowTester) -> None:
    page = await tester.start(prompt=["create"], login_hint="Carol@Example.org")
    assert kept(page)["email"] == "Carol@example.org"
    page = await tester.start(prompt=["create"], login_hint="carol")
    assert kept(page) == dict.fromkeys(kept(page), "")


async def test_someone_signed_in_passes_straight_through(tester: FlowTester) -> None:
    alice = await tester.store.users.find_by_login("alice")
    assert alice is not None
    assert await tester.start(prompt=["create"], session=(alice, [])) is None
    assert tester.result == "done" and tester.subject == alice.id


async def test_sign_in_is_offered_only_where_wired(tester: FlowTester) -> None:
    page = await tester.start(prompt=["create"])
    assert page is not None and ("sign_in", "Already have an account? Sign in") in page.actions
    await tester.choose("sign_in")
    assert tester.step == "identify"
    bare = ClientRecord(client_id="bare", redirect_uris=["https://b.example/cb"], flow="bare")
    page = await tester.start(client=bare)
    assert page is not None and tester.flow == "bare"
    assert [outcome for outcome, _ in page.actions] == []


async def test_default_fields_are_username_and_email(tester: FlowTester) -> None:
    bare = ClientRecord(client_id="bare", redirect_uris=["https://b.example/cb"], flow="bare")
    page = await tester.start(client=bare)
    assert [f["name"] for f in kept_fields(page)] == ["username", "email"]
    page = await tester.submit(username="a", email="x", password=PASSWORD,
                               password_confirm=PASSWORD)
    assert set(errors_of(page)) == {"username", "email"}


def kept_fields(page: Page | None) -> list[dict[str, Any]]:
    assert page is not None
    fields: list[dict[str, Any]] = page.values["fields"]
    return fields


def flows_with(fields: str, extra: str = "") -> str:
    return f"""\
default_flow: signup
flows:
  signup:
    steps:
      register:
        type: register
        options:
{extra}          fields:
{fields}        on:
          success: done
"""


@pytest.mark.parametrize(
    ("fields", "extra", "message"),
    [
        ('            - {name: username, label: U, pattern: "[a-z"}  # here\n', "",
         "not a valid regular expression"),
        ("            - {name: username, label: U}\n"
         "            - {name: bad-name, label: B}  # here\n", "", "a field name is a letter"),
        ("            - {name: username, label: U}\n"
         "            - {name: password, label: P}  # here\n", "", "is reserved"),
        ("            - {name: email, label: E, type: email}\n", "", "a `username` field"),
        ("            - {name: username, label: U}\n"
         "            - {name: username, label: V}\n", "", "unique"),
        ("            - {name: username, label: U, colour: red}  # here\n", "",
         "Extra inputs are not permitted"),
        ("            - {name: username, label: U, required: false}  # here\n", "",
         "the username field is required"),
        ("            - {name: username, label: U}\n"
         "            - {name: email, label: E, type: text}  # here\n", "", "has type email"),
        ("            - {name: username, label: U}\n"
         "            - {name: name, label: 50% off}  # here\n", "", "should match pattern"),
        ("            - {name: username, label: U}\n",
         "          password: {min_length: 4}  # here\n", "greater than or equal to 8"),
    ],
)
def test_invalid_options_are_reported_with_their_line(
    fields: str, extra: str, message: str
) -> None:
    text = flows_with(fields, extra)
    lines = text.splitlines()
    marked = [n for n, line in enumerate(lines, 1) if "# here" in line]
    line = marked[0] if marked else next(n for n, s in enumerate(lines, 1) if "fields:" in s)
    with pytest.raises(FlowsError) as caught:
        load_flows_text(text, "flows.yaml")
    assert len(caught.value.problems) == 1
    problem = str(caught.value.problems[0])
    assert problem.startswith(f"flows.yaml:{line}:") and message in problem


def test_the_defaults_load() -> None:
    flows = load_flows_text(flows_with("            - {name: username, label: U}\n"))
    step = flows.flows["signup"].steps["register"]
    assert isinstance(step, RegisterStep)
    assert RegisterStep.optional_outcomes.keys() == {"another_way", "sign_in"}


def render(page: Page, **context: Any) -> str:
    return render_step_page(page, **context)


async def test_the_page_shows_fields_in_order_with_accessible_errors(tester: FlowTester) -> None:
    page = await sign_up(tester, email="nope", password="short", password_confirm="short")
    assert page is not None
    html = render(page)
    assert "Create your account" in html
    order = [html.index(f'name="{name}"') for name in
             ("username", "email", "name", "birthdate", "phone_number", "newsletter",
              "password", "password_confirm")]
    assert order == sorted(order)
    assert 'aria-invalid="true" aria-describedby="email-error"' in html
    assert 'id="email-error"' in html and 'value="nope"' in html
    assert 'aria-describedby="password-hint password-error"' in html
    assert "At least 10 characters." in html
    assert html.count('autocomplete="new-password"') == 2
    assert 'value="short"' not in html
    assert 'name="_outcome" value="sign_in"' in html
    assert 'type="date"' in html and 'type="tel"' in html and 'type="checkbox"' in html
    assert 'id="name-error"' not in html
