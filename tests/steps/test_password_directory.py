"""The `password` step with an external user directory: a person the directory vouches for gets a
local record (the same `sub` at every sign-in), the guarantees of local passwords hold (same page
for unknown and wrong, same throttling), a directory that fails never becomes a 500 or a counted
guess, a local account wins, and a bad directory or bad options are load errors with positions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from engine import check_directories
from engine.loader import FlowsError, load_flows_text
from engine.testing import FlowTester
from federation.directory import DirectoryUnavailable
from server.cli import main
from steps import directory_answers, email_codes
from steps.base import BrowserFacts, Page
from steps.change_password import IN_DIRECTORY
from steps.password import NAME_TAKEN, UNAVAILABLE, WRONG, PasswordStep
from steps.reset_password import DIRECTORY_SUBJECT, INVALID_CODE
from steps.throttling import ACCOUNT_AT_ADDRESS, ADDRESS, THROTTLED
from steps.user_directory import local_user_id
from store.records import UserRecord
from tests.steps.fake_directory import FakeDirectory, Trouble
from tests.steps.pages import render_step_page

NOW = 1_700_000_000.0
PASSWORD = "the directory's password"
LOCAL_PASSWORD = "a local passphrase"
DIRECTORY = "tests.steps.fake_directory:FakeDirectory"
FLOWS = f"""\
flows:
  default:
    steps:
      identify: {{type: identify, on: {{success: password}}}}
      password:
        type: password
        options:
          directory: {DIRECTORY}
          directory_options: {{realm: corp}}
        on: {{success: done}}
"""
DORA_SUB = local_user_id(DIRECTORY, "u-1")


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS, now=NOW) as flow_tester:
        flow_tester.browser = BrowserFacts(client_address="192.0.2.7")
        yield flow_tester


@pytest.fixture
def directory(tester: FlowTester) -> FakeDirectory:
    """The directory the flows built when they loaded (one for all runs)."""
    step = tester.flows.get(None).steps["password"]
    assert isinstance(step, PasswordStep)
    built = step.settings.user_directory
    assert isinstance(built, FakeDirectory)
    return built


async def sign_in(tester: FlowTester, login: str, password: str) -> Page | None:
    await tester.start()
    await tester.submit(login=login)
    return await tester.submit(password=password)


def error(page: Page | None) -> str:
    assert page is not None
    return page.errors["password"]


def add_dora(directory: FakeDirectory, **changes: object) -> None:
    directory.add(PASSWORD, **{
        "id": "u-1", "username": "dora", "email": "dora@corp.example", "email_verified": True,
        "claims": {"name": "Dora Legacy", "sub": "spoofed", "email": "other@example.com"},
        "groups": ["staff"], **changes,
    })


async def test_a_directory_user_gets_a_local_record_refreshed_at_each_sign_in(
    tester: FlowTester, directory: FakeDirectory
) -> None:
    add_dora(directory)
    assert await sign_in(tester, "dora", PASSWORD) is None
    assert tester.result == "done" and tester.subject == DORA_SUB and tester.amr == ["pwd"]
    assert await tester.store.users.get(DORA_SUB) == UserRecord(
        id=DORA_SUB, username="dora", email="dora@corp.example", email_verified=True,
        claims={"name": "Dora Legacy"},  # the record's own fields are never taken from claims
        groups=["staff"], password_hash=None, created_at=NOW,
    )
    user = await tester.store.users.get(DORA_SUB)
    assert user is not None
    user.terms_accepted = {"2026-11": NOW}  # what Gatehouse keeps itself stays
    await tester.store.users.update(user)
    add_dora(directory, username="dora.lee", email_verified=False, claims={"name": "Dora Lee"},
             groups=[])
    tester.advance_clock(60)
    assert await sign_in(tester, "dora@corp.example", PASSWORD) is None
    assert tester.subject == DORA_SUB
    assert await tester.store.users.get(DORA_SUB) == UserRecord(
        id=DORA_SUB, username="dora.lee", email="dora@corp.example", email_verified=False,
        claims={"name": "Dora Lee"}, groups=[], terms_accepted={"2026-11": NOW}, created_at=NOW,
    )
    assert await tester.store.users.find_by_login("dora") is None


async def test_a_wrong_password_and_an_unknown_login_get_the_same_page_and_work(
    tester: FlowTester, directory: FakeDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_dora(directory)
    argon2: list[str | None] = []
    verify = tester.passwords.verify

    async def counted(stored_hash: str | None, password: str) -> bool:
        argon2.append(stored_hash)
        return await verify(stored_hash, password)

    monkeypatch.setattr(tester.passwords, "verify", counted)
    wrong, unknown = await sign_in(tester, "dora", "wrong"), await sign_in(tester, "nobody", "x")
    assert wrong is not None and unknown is not None
    assert (wrong.template, wrong.errors) == (unknown.template, unknown.errors)
    assert error(wrong) == WRONG
    assert argon2 == [None]  # the unknown login cost the dummy verify the directory's check did not
    assert directory.state.calls == ["look_up dora", "verify_password u-1", "look_up nobody"]
    assert await tester.store.users.get(DORA_SUB) is None
    for key in ("login:dora", "login:nobody"):
        assert await tester.store.throttles.get(f"password:account:{key}", NOW) is not None


@pytest.mark.parametrize("trouble", [
    Trouble(error=DirectoryUnavailable("connection refused")),
    Trouble(error=RuntimeError("a bug in the directory")),
    Trouble(hang=True),
], ids=["unavailable", "any-exception", "timeout"])
async def test_a_failing_directory_gives_the_page_again_and_no_counted_guess(
    tester: FlowTester, directory: FakeDirectory, trouble: Trouble,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(directory_answers, "DIRECTORY_TIMEOUT", 0.05)
    add_dora(directory)
    directory.state.trouble = trouble
    with caplog.at_level(logging.WARNING, logger="gatehouse.directory"):
        for _ in range(ACCOUNT_AT_ADDRESS.max_failures + 1):
            page = await sign_in(tester, "dora", PASSWORD)
            assert error(page) == UNAVAILABLE
    assert page is not None and page.values["login"] == "dora"
    alert = BeautifulSoup(render_step_page(page), "html.parser").find(id="password-error")
    assert alert is not None
    assert alert.get_text() == "We can't check your password right now. Try again in a moment."
    assert f"user directory {DIRECTORY} cannot answer" in caplog.text
    for key in ("account_ip:192.0.2.7:login:dora", "account:login:dora", "ip:192.0.2.7"):
        assert await tester.store.throttles.get(f"password:{key}", NOW) is None
    directory.state.trouble = None
    assert await sign_in(tester, "dora", PASSWORD) is None and tester.subject == DORA_SUB


async def test_a_local_account_wins_over_the_directory(
    tester: FlowTester, directory: FakeDirectory
) -> None:
    local = await tester.add_user("dora", LOCAL_PASSWORD)
    add_dora(directory)
    assert error(await sign_in(tester, "dora", PASSWORD)) == WRONG
    assert await sign_in(tester, "dora", LOCAL_PASSWORD) is None and tester.subject == local.id
    assert directory.state.calls == []


async def test_a_directory_user_whose_username_is_a_local_account_is_refused_clearly(
    tester: FlowTester, directory: FakeDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    await tester.add_user("dora", LOCAL_PASSWORD)
    add_dora(directory)
    with caplog.at_level(logging.WARNING, logger="gatehouse.directory"):
        page = await sign_in(tester, "dora@corp.example", PASSWORD)
    assert error(page) == NAME_TAKEN and tester.result is None
    assert await tester.store.users.get(DORA_SUB) is None
    assert "the username 'dora' belongs to an account here" in caplog.text


async def test_an_email_a_local_account_holds_is_left_out(
    tester: FlowTester, directory: FakeDirectory
) -> None:
    await tester.add_user("erin", LOCAL_PASSWORD, email="dora@corp.example")
    add_dora(directory)
    assert await sign_in(tester, "dora", PASSWORD) is None and tester.subject == DORA_SUB
    user = await tester.store.users.get(DORA_SUB)
    assert user is not None and (user.email, user.email_verified) == (None, False)


async def test_guesses_are_throttled_per_account_and_a_blocked_one_is_not_checked(
    tester: FlowTester, directory: FakeDirectory
) -> None:
    add_dora(directory)
    assert await sign_in(tester, "dora", PASSWORD) is None  # now a local record
    for _ in range(ACCOUNT_AT_ADDRESS.max_failures):
        page = await sign_in(tester, "dora", "wrong")
    assert error(page) == THROTTLED
    blocked = await tester.store.throttles.get("password:account_ip:192.0.2.7:login:dora", NOW)
    assert blocked is not None and blocked.account == DORA_SUB  # so a reset can lift it
    directory.state.calls.clear()
    assert error(await sign_in(tester, "dora", PASSWORD)) == THROTTLED
    assert directory.state.calls == []
    tester.advance_clock(60)
    assert await sign_in(tester, "dora", PASSWORD) is None and tester.result == "done"


async def test_guesses_at_many_unknown_logins_block_the_address(
    tester: FlowTester, directory: FakeDirectory
) -> None:
    for i in range(ADDRESS.max_failures):
        page = await sign_in(tester, f"nobody{i}", "wrong")
    assert error(page) == THROTTLED
    add_dora(directory)
    assert error(await sign_in(tester, "dora", PASSWORD)) == THROTTLED


def one_password_step(options: str) -> str:
    return f"flows:\n  default:\n    steps:\n      password:\n        type: password\n" \
           f"        options:\n{options}        on: {{success: done}}\n"


@pytest.mark.parametrize(("options", "problems"), [
    ("          directory: tests.steps.nowhere:Directory\n", [
        "flows.yaml:7:11: flows.default.steps.password.options.directory: Value error, cannot"
        " load user directory 'tests.steps.nowhere:Directory': No module named 'tests.steps.nowhere'",
    ]),
    ("          directory: corp directory!\n", [
        "flows.yaml:7:11: flows.default.steps.password.options.directory: Value error, 'corp"
        " directory!' is neither a directory's name nor package.module:Class",
    ]),
    ("          directory: tests.steps.fake_directory:Person\n", [
        "flows.yaml:7:11: flows.default.steps.password.options.directory: Value error,"
        " 'tests.steps.fake_directory:Person' is not a subclass of federation.directory.UserDirectory",
    ]),
    ("          directory: tests.steps.fake_directory:Unfinished\n", [
        "flows.yaml:7:11: flows.default.steps.password.options.directory: Value error,"
        " 'tests.steps.fake_directory:Unfinished' does not implement verify_password",
    ]),
    (f"          directory: {DIRECTORY}\n          directory_options:\n"
     "            realm: [corp]\n            retries: 7\n            colour: red\n", [
        "flows.yaml:9:13: flows.default.steps.password.options.directory_options.realm:"
        " Input should be a valid string",
        "flows.yaml:10:13: flows.default.steps.password.options.directory_options.retries:"
        " Input should be less than or equal to 3",
        "flows.yaml:11:13: flows.default.steps.password.options.directory_options.colour:"
        " Extra inputs are not permitted",
    ]),
    ("          directory_options: {realm: corp}\n", [
        "flows.yaml:7:11: flows.default.steps.password.options.directory_options: Value error,"
        " directory_options needs a directory",
    ]),
    ("          directory: tests.steps.fake_directory:BrokenDirectory\n", [
        "flows.yaml:6:9: flows.default.steps.password.options: Value error, cannot set up user"
        " directory 'tests.steps.fake_directory:BrokenDirectory': no configuration file at"
        " /etc/legacy.conf",
    ]),
], ids=["no-module", "bad-name", "not-a-directory", "abstract", "bad-options", "no-directory",
        "cannot-build"])
def test_a_bad_directory_or_bad_options_are_load_errors_with_positions(
    options: str, problems: list[str]
) -> None:
    with pytest.raises(FlowsError) as caught:
        load_flows_text(one_password_step(options), "flows.yaml")
    assert [str(p) for p in caught.value.problems] == problems


def test_a_named_directory_must_be_one_of_gatehouse_yamls() -> None:
    flows = load_flows_text(one_password_step("          directory: corp\n"), "flows.yaml")
    check_directories(flows, ["corp"])
    with pytest.raises(ValueError, match="flow default, step password: no directory 'corp' in"
                                         r" gatehouse.yaml \(directories: hr\)"):
        check_directories(flows, ["hr"])
    with pytest.raises(FlowsError, match="the settings of directory 'corp' are in gatehouse.yaml"):
        load_flows_text(one_password_step(
            "          directory: corp\n          directory_options: {realm: x}\n"), "flows.yaml")


def test_flows_check_reports_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "flows.yaml").write_text(one_password_step(
        f"          directory: {DIRECTORY}\n          directory_options: {{retries: 9}}\n"
    ))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["flows", "check", "flows.yaml"])
    assert result.exit_code == 1
    assert result.stderr == (
        "flows.yaml:8:31: flows.default.steps.password.options.directory_options.retries:"
        " Input should be less than or equal to 3\n"
    )


RESET_AND_CHANGE = f"""\
flows:
  default:
    steps:
      identify: {{type: identify, on: {{success: password}}}}
      password:
        type: password
        options: {{directory: {DIRECTORY}}}
        on: {{success: change, forgot: reset}}
      reset:
        type: reset_password
        on: {{success: password, cancel: password}}
      change:
        type: change_password
        on: {{success: done, skip: done}}
"""


async def test_a_directory_person_cannot_set_a_password_here_that_would_never_be_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(email_codes, "new_code", lambda: "12345678")
    async with FlowTester(RESET_AND_CHANGE, now=NOW) as tester:
        await tester.add_user("dora", id=DORA_SUB, email="dora@corp.example")
        await tester.start()
        await tester.submit(login="dora")
        await tester.choose("forgot")
        await tester.submit(email="dora@corp.example")
        [mail] = tester.mail  # where the password is kept, and no code
        assert mail.subject == DIRECTORY_SUBJECT and "12345678" not in mail.text
        assert "user directory" in mail.text
        page = await tester.submit(code="12345678", password="a new passphrase 1",
                                   password_confirm="a new passphrase 1")
        assert page is not None and page.errors == {"code": INVALID_CODE}

        # Signed in through the directory, the change step only says where to change it.
        await tester.choose("cancel")
        step = tester.flows.get(None).steps["password"]
        assert isinstance(step, PasswordStep) and isinstance(step.settings.user_directory, FakeDirectory)
        add_dora(step.settings.user_directory)
        page = await tester.submit(password=PASSWORD)
        assert tester.step == "change" and page is not None
        assert page.errors == {"page": IN_DIRECTORY} and "login" not in page.values
        await tester.submit(password="a new passphrase 1", password_confirm="a new passphrase 1")
        assert tester.step == "change"
        user = await tester.store.users.get(DORA_SUB)
        assert user is not None and user.password_hash is None and user.in_directory
