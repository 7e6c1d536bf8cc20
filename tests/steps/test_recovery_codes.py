"""`recovery_codes_setup` and `recovery_code`: one-time recovery codes, driven with FlowTester."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import pytest
from bs4 import BeautifulSoup

from core import digest
from engine.testing import FlowTester
from steps import recovery_codes
from steps.base import Page
from steps.recovery_code import INVALID
from steps.recovery_codes_setup import CODES_CHANGED, NOT_CONFIRMED
from steps.throttling import ACCOUNT, THROTTLED
from store.errors import StaleVersionError
from store.records import AuthEvent, UserRecord
from tests.steps.pages import render_step_page

NOW = 1_700_000_000.0
PASSWORD = "correct horse battery staple"
SHAPE = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")

FLOWS = """\
default_flow: setup
flows:
  setup:
    steps:
      password: {type: password, on: {success: codes}}
      codes:
        type: recovery_codes_setup
        on: {success: done}
  recover:
    steps:
      password: {type: password, on: {success: code}}
      code:
        type: recovery_code
        on:
          success:
            - {to: done, if: {has_credential: recovery_codes}}
            - {to: codes}
      codes:
        type: recovery_codes_setup
        options: {count: 5}
        on: {success: done}
  replace:
    steps:
      password: {type: password, on: {success: codes}}
      codes:
        type: recovery_codes_setup
        options: {replace: true}
        on: {success: done}
"""


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS, now=NOW) as flow_tester:
        yield flow_tester


async def alice(tester: FlowTester) -> UserRecord:
    return await tester.add_user("alice", password=PASSWORD)


async def to_setup(tester: FlowTester) -> list[str]:
    """Sign in with the password and return the codes the setup page shows."""
    tester.client = tester.client.model_copy(update={"flow": "setup"})
    await tester.start()
    page = await tester.submit(login="alice", password=PASSWORD)
    assert page is not None and tester.step == "codes"
    codes = page.values["codes"]
    assert isinstance(codes, list)
    return codes


async def to_code(tester: FlowTester) -> Page:
    tester.client = tester.client.model_copy(update={"flow": "recover"})
    await tester.start()
    page = await tester.submit(login="alice", password=PASSWORD)
    assert page is not None and tester.step == "code"
    return page


async def stored_json(tester: FlowTester, user: UserRecord) -> list[str]:
    return [c.model_dump_json() for c in await tester.store.credentials.for_user(user.id)]


async def test_setup_shows_ten_distinct_codes_and_stores_only_their_digests(
    tester: FlowTester,
) -> None:
    user = await alice(tester)
    codes = await to_setup(tester)
    assert len(codes) == len(set(codes)) == 10
    assert all(SHAPE.fullmatch(code) for code in codes)
    assert await tester.submit(confirm="yes") is None
    records = await tester.store.credentials.for_user(user.id)
    assert {(r.kind, r.name, json.dumps(r.data)) for r in records} == {
        ("recovery_codes", "Recovery code", "{}")
    }
    expected = {digest(f"{user.id}:{code.replace('-', '')}") for code in codes}
    assert {r.id for r in records} == expected
    dumped = "".join(await stored_json(tester, user))
    for code in codes:
        assert code not in dumped and code.replace("-", "") not in dumped


async def test_codes_are_stored_only_once_confirmed(tester: FlowTester) -> None:
    user = await alice(tester)
    old = await recovery_codes.replace_codes(tester.store, user.id, NOW)
    old_ids = await recovery_codes.stored_ids(tester.store, user.id)
    tester.client = tester.client.model_copy(update={"flow": "replace"})
    await tester.start()
    page = await tester.submit(login="alice", password=PASSWORD)
    assert page is not None and tester.step == "codes"
    shown = page.values["codes"]
    assert set(shown).isdisjoint(old)
    # Shown, reloaded and submitted unconfirmed: the old codes are still the ones that work.
    assert await tester.engine.show(tester.run, tester.client) is not None
    page = await tester.submit()
    assert page is not None and page.errors == {"confirm": NOT_CONFIRMED}
    assert await recovery_codes.stored_ids(tester.store, user.id) == old_ids
    run_json = tester.run.model_dump_json()  # sealed codes and digests only, until confirmed
    assert not any(code in run_json or code.replace("-", "") in run_json for code in shown)
    assert await tester.submit(confirm="yes") is None and tester.result == "done"
    assert await recovery_codes.stored_ids(tester.store, user.id) == {
        recovery_codes.credential_id(user.id, code) for code in shown
    }


async def test_a_reload_shows_the_same_codes(tester: FlowTester) -> None:
    await alice(tester)
    codes = await to_setup(tester)
    page = await tester.engine.show(tester.run, tester.client)
    assert page is not None and page.values["codes"] == codes


async def test_confirming_is_required_and_wipes_the_codes_from_the_run(
    tester: FlowTester,
) -> None:
    await alice(tester)
    codes = await to_setup(tester)
    page = await tester.submit()
    assert page is not None and page.errors == {"confirm": NOT_CONFIRMED}
    assert page.values["codes"] == codes
    scratch = json.dumps(tester.run.scratch)
    assert "codes" in scratch  # still held (sealed) while unconfirmed
    assert await tester.submit(confirm="yes") is None
    assert tester.result == "done"
    assert tester.run.scratch.get("setup/codes") in (None, {})
    scratch = json.dumps(tester.run.scratch)
    assert not any(code in scratch or code.replace("-", "") in scratch for code in codes)


async def test_setup_passes_without_a_page_when_the_user_has_codes(tester: FlowTester) -> None:
    user = await alice(tester)
    await recovery_codes.replace_codes(tester.store, user.id, NOW)
    tester.client = tester.client.model_copy(update={"flow": "setup"})
    await tester.start()
    assert await tester.submit(login="alice", password=PASSWORD) is None
    assert tester.result == "done" and tester.path == ["password", "codes", "done"]


async def test_setup_without_a_user_is_a_page_error(tester: FlowTester) -> None:
    bare = FLOWS.replace("default_flow: setup", "default_flow: bare") + (
        "  bare:\n    steps:\n      codes: {type: recovery_codes_setup, on: {success: done}}\n"
    )
    async with FlowTester(bare, now=NOW) as other:
        page = await other.start()
        assert page is not None and page.errors == {
            "page": "Sign in before setting up recovery codes."
        }
        assert "recovery-codes" not in render_step_page(page)


async def test_of_two_loads_at_once_the_one_shown_is_confirmed(tester: FlowTester) -> None:
    user = await alice(tester)
    await to_setup(tester)
    tester.run.scratch.pop("setup/codes")  # as if the page had not been shown yet
    await tester.store.runs.save(tester.run)
    copies = [await tester.store.runs.get(tester.run.id, NOW) for _ in range(2)]
    results = await asyncio.gather(
        *(tester.engine.show(run, tester.client) for run in copies if run is not None),
        return_exceptions=True,
    )
    [page] = [result for result in results if isinstance(result, Page)]
    assert [type(result) for result in results if not isinstance(result, Page)] == [
        StaleVersionError
    ]
    saved = await tester.store.runs.get(tester.run.id, NOW)
    assert saved is not None
    assert await tester.engine.submit(saved, tester.client, {"confirm": "yes"}) is None
    assert await recovery_codes.stored_ids(tester.store, user.id) == {
        recovery_codes.credential_id(user.id, code) for code in page.values["codes"]
    }


async def test_a_double_submitted_confirmation_stores_the_codes_once(tester: FlowTester) -> None:
    user = await alice(tester)
    codes = await to_setup(tester)
    copies = [await tester.store.runs.get(tester.run.id, NOW) for _ in range(2)]
    results = await asyncio.gather(
        *(tester.engine.submit(run, tester.client, {"confirm": "yes"})
          for run in copies if run is not None),
        return_exceptions=True,
    )
    assert sorted(type(result).__name__ for result in results) == [
        "NoneType", "StaleVersionError"]
    assert await recovery_codes.stored_ids(tester.store, user.id) == {
        recovery_codes.credential_id(user.id, code) for code in codes
    }
    events = await tester.store.audit.for_subject(user.id, NOW + 1)
    assert [e.kind for e in events].count("mfa_changed") == 1


async def test_codes_replaced_elsewhere_are_not_confirmed(tester: FlowTester) -> None:
    user = await alice(tester)
    shown = await to_setup(tester)
    elsewhere = await recovery_codes.replace_codes(tester.store, user.id, NOW)  # meanwhile
    page = await tester.submit(confirm="yes")
    assert page is not None and page.errors == {"page": CODES_CHANGED}
    fresh = page.values["codes"]
    assert set(fresh).isdisjoint(shown)
    assert await recovery_codes.stored_ids(tester.store, user.id) == {
        recovery_codes.credential_id(user.id, code) for code in elsewhere
    }
    assert await tester.submit(confirm="yes") is None and tester.result == "done"
    assert await recovery_codes.stored_ids(tester.store, user.id) == {
        recovery_codes.credential_id(user.id, code) for code in fresh
    }


async def test_a_code_signs_in_once_with_otp(tester: FlowTester) -> None:
    user = await alice(tester)
    codes = await recovery_codes.replace_codes(tester.store, user.id, NOW)
    await to_code(tester)
    typed = f"  {codes[3].lower().replace('-', ' - ')} "
    assert await tester.submit(code=typed) is None
    assert tester.result == "done" and "otp" in tester.amr and tester.subject == user.id
    assert await recovery_codes.codes_left(tester.store, user.id) == 9
    assert tester.run.scratch["_flow"]["recovery_codes_left"] == 9
    await to_code(tester)
    page = await tester.submit(code=codes[3])
    assert page is not None and page.errors == {"code": INVALID}
    assert tester.run.attempts == {"code": 1}
    assert await recovery_codes.codes_left(tester.store, user.id) == 9


async def test_a_made_up_or_empty_code_fails(tester: FlowTester) -> None:
    user = await alice(tester)
    await recovery_codes.replace_codes(tester.store, user.id, NOW)
    await to_code(tester)
    page = await tester.submit(code="ABCD-EFGH-JKMN")
    assert page is not None and page.errors == {"code": INVALID}
    page = await tester.submit(code="  ")
    assert page is not None and page.errors == {"code": "Enter a recovery code."}
    assert tester.step == "code" and "otp" not in tester.amr
    assert await recovery_codes.codes_left(tester.store, user.id) == 10


async def test_another_users_code_does_not_work(tester: FlowTester) -> None:
    await alice(tester)
    bob = await tester.add_user("bob", password=PASSWORD)
    [code] = await recovery_codes.replace_codes(tester.store, bob.id, NOW, count=1)
    await to_code(tester)
    page = await tester.submit(code=code)
    assert page is not None and page.errors == {"code": INVALID}
    assert await recovery_codes.codes_left(tester.store, bob.id) == 1


async def test_the_last_code_leads_to_setting_up_new_ones(tester: FlowTester) -> None:
    user = await alice(tester)
    [code] = await recovery_codes.replace_codes(tester.store, user.id, NOW, count=1)
    await to_code(tester)
    page = await tester.submit(code=code)
    assert page is not None and tester.step == "codes" and "otp" in tester.amr
    assert tester.run.scratch["_flow"]["recovery_codes_left"] == 0
    assert len(page.values["codes"]) == 5
    assert await recovery_codes.codes_left(tester.store, user.id) == 0
    assert await tester.submit(confirm="yes") is None and tester.result == "done"
    assert await recovery_codes.codes_left(tester.store, user.id) == 5


async def test_replacing_codes_invalidates_the_old_ones(tester: FlowTester) -> None:
    user = await alice(tester)
    old = await recovery_codes.replace_codes(tester.store, user.id, NOW)
    new = await recovery_codes.replace_codes(tester.store, user.id, NOW)
    assert set(old).isdisjoint(new)
    assert await recovery_codes.codes_left(tester.store, user.id) == 10
    assert not await recovery_codes.use_code(tester.store, user.id, old[0])
    assert await recovery_codes.use_code(tester.store, user.id, new[0])


async def test_concurrent_use_of_one_code_has_one_winner(tester: FlowTester) -> None:
    user = await alice(tester)
    codes = await recovery_codes.replace_codes(tester.store, user.id, NOW)
    results = await asyncio.gather(
        *(recovery_codes.use_code(tester.store, user.id, codes[0]) for _ in range(2))
    )
    assert sorted(results) == [False, True]
    code_id = recovery_codes.credential_id(user.id, codes[0])
    assert await tester.store.credentials.get(code_id) is None
    deletes = await asyncio.gather(*(tester.store.credentials.delete(code_id) for _ in range(2)))
    assert deletes == [False, False]


async def test_a_session_with_a_possession_proof_passes(tester: FlowTester) -> None:
    user = await alice(tester)
    await recovery_codes.replace_codes(tester.store, user.id, NOW)
    tester.client = tester.client.model_copy(update={"flow": "recover"})
    events = [AuthEvent(method="pwd", factor="knowledge", at=NOW),
              AuthEvent(method="hwk", factor="possession", at=NOW)]
    assert await tester.start(session=(user, events)) is None
    assert tester.result == "done" and tester.path == ["password", "code", "done"]
    assert await recovery_codes.codes_left(tester.store, user.id) == 10


def test_codes_use_the_unambiguous_alphabet_and_normalize() -> None:
    codes = recovery_codes.generate(20)
    assert len(set(codes)) == 20 and all(SHAPE.fullmatch(code) for code in codes)
    assert not set("".join(codes)) & set("01OIL")
    assert recovery_codes.normalize(" abcd-efgh jkmn ") == "ABCDEFGHJKMN"


async def test_pages_render_the_codes_and_the_code_field(tester: FlowTester) -> None:
    await alice(tester)
    codes = await to_setup(tester)
    assert tester.page is not None
    soup = BeautifulSoup(render_step_page(tester.page), "html.parser")
    assert [c.get_text() for c in soup.select("ol.recovery-codes li code")] == codes
    assert "Save these codes somewhere safe." in soup.get_text()
    assert soup.select_one("input[type=checkbox][name=confirm]") is not None
    page = await tester.submit()
    assert page is not None
    soup = BeautifulSoup(render_step_page(page), "html.parser")
    error = soup.select_one("#confirm-error")
    assert error is not None and error.get_text() == "Confirm that you have saved the codes."
    code_page = await to_code(tester)
    soup = BeautifulSoup(render_step_page(code_page), "html.parser")
    field = soup.select_one("input#code")
    assert field is not None and field["autocomplete"] == "off" and field["name"] == "code"
    assert soup.h1 is not None and soup.h1.get_text() == "Use a recovery code"
    hint = soup.select_one("#code-hint")
    assert hint is not None and "Enter one of the codes you saved" in hint.get_text()


async def test_wrong_codes_are_throttled_and_a_right_one_waits_too(tester: FlowTester) -> None:
    user = await alice(tester)
    codes = await recovery_codes.replace_codes(tester.store, user.id, NOW)
    await to_code(tester)
    answers = [(await tester.submit(code="ABCD-EFGH-JKMN")) for _ in range(ACCOUNT.max_failures)]
    assert [page.errors["code"] for page in answers if page] == (
        [INVALID] * (ACCOUNT.max_failures - 1) + [THROTTLED])
    blocked = await tester.submit(code=codes[0])
    assert blocked is not None and blocked.errors == {"code": THROTTLED}
    assert await recovery_codes.codes_left(tester.store, user.id) == 10  # not even tried
    tester.advance_clock(blocked.values["retry_in"])
    assert await tester.submit(code=codes[0]) is None and "otp" in tester.amr
