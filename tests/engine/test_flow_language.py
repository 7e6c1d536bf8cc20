"""The flow language at run time, driven with FlowTester: branches and conditions, sub-flows,
terminals, flow selection, runs on top of a session (step-up), optional outcomes, "not you?"."""

from __future__ import annotations

import pytest

from engine.runs import RunError
from engine.testing import FlowTester
from store.records import AuthEvent, ClientRecord, CredentialRecord, UserRecord

PASSWORD = "a long passphrase"
OTP = "tests.engine.fake_steps:FakeOtpStep"
LOA1, LOA2 = "urn:gatehouse:loa:1", "urn:gatehouse:loa:2"

FLOWS = f"""\
default_flow: default
registration_flow: signup
acr_flows: {{{LOA2}: strong}}
flows:
  default:
    steps:
      identify:
        type: identify
        on: {{success: password, register: signup}}
      password:
        type: password
        on:
          forgot: deny
          success:
            - {{to: mfa, if: {{has_credential: totp}}}}
            - {{to: blocked, if: {{in_group: banned}}}}
            - {{to: done}}
      mfa:
        type: flow
        options: {{flow: mfa}}
        on: {{done: done, deny: deny}}
      blocked:
        type: decide
        on: {{next: {{to: error, message: "This account is blocked."}}}}
      signup:
        type: decide
        on: {{next: {{to: deny, message: "no sign-up here"}}}}
  mfa:
    steps:
      otp: {{type: "{OTP}", on: {{success: done}}}}
  strong:
    steps:
      identify: {{type: identify, on: {{success: password}}}}
      password: {{type: password, on: {{success: mfa}}}}
      mfa: {{type: flow, options: {{flow: mfa}}, on: {{done: done, deny: deny}}}}
  signup:
    steps:
      start: {{type: decide, on: {{next: done}}}}
  partner:
    steps:
      password: {{type: password, on: {{success: done}}}}
"""


@pytest.fixture
async def tester() -> FlowTester:
    async with FlowTester(FLOWS, now=1_700_000_000.0) as flow_tester:
        yield flow_tester  # type: ignore[misc]


async def alice(tester: FlowTester, **fields: object) -> UserRecord:
    return await tester.add_user("alice", PASSWORD, email="alice@example.com", **fields)


async def add_totp(tester: FlowTester, user: UserRecord) -> None:
    await tester.store.credentials.add(
        CredentialRecord(id="c1", user_id=user.id, kind="totp", created_at=tester.now)
    )


async def test_a_condition_picks_the_first_branch_that_holds(tester: FlowTester) -> None:
    user = await alice(tester)
    await add_totp(tester, user)
    await tester.start()
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert (tester.flow, tester.step) == ("mfa", "otp")
    entry = [e for e in tester.run.log if e.get("step") == "password"][-1]
    assert entry["conditions"] == {"has_credential: totp": True}
    await tester.submit(code="123456")
    assert tester.result == "done"
    assert tester.path == ["identify", "password", "otp", "mfa", "done"]
    assert (tester.amr, tester.acr) == (["pwd", "otp", "mfa"], LOA2)


async def test_without_the_credential_the_otherwise_branch_is_taken(tester: FlowTester) -> None:
    await alice(tester)
    await tester.start()
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert tester.result == "done"
    assert (tester.amr, tester.acr) == (["pwd"], LOA1)
    entry = [e for e in tester.run.log if e.get("step") == "password"][-1]
    assert entry["conditions"] == {"has_credential: totp": False, "in_group: banned": False}


async def test_an_error_terminal_carries_its_message(tester: FlowTester) -> None:
    await alice(tester, groups=["banned"])
    await tester.start()
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert (tester.result, tester.message) == ("error", "This account is blocked.")


async def test_a_sub_flow_deny_returns_to_the_caller_as_an_outcome() -> None:
    flows = """\
flows:
  default:
    steps:
      password: {type: password, on: {success: second}}
      second:
        type: flow
        options: {flow: picky}
        on: {done: done, deny: {to: error, message: "recovered in the caller"}}
  picky:
    steps:
      gate: {type: decide, on: {next: [{to: deny, if: {not: {in_group: vip}}}, {to: done}]}}
"""
    async with FlowTester(flows) as tester:
        await alice(tester)
        await tester.start()
        await tester.submit(login="alice", password=PASSWORD)
        assert (tester.result, tester.message) == ("error", "recovered in the caller")
        assert [e["event"] for e in tester.run.log].count("return") == 1


async def test_an_optional_outcome_is_offered_only_where_wired(tester: FlowTester) -> None:
    await alice(tester)
    page = await tester.start()
    assert page is not None and page.actions == [("register", "Create an account")]
    await tester.submit(login="alice")
    assert tester.page is not None
    assert tester.page.actions == [("forgot", "Forgot your password?")]
    await tester.choose("another_way")  # not wired: ignored, the password step stays
    assert tester.step == "password"
    await tester.choose("forgot")
    assert tester.result == "deny"


async def test_not_you_starts_over_without_the_first_user(tester: FlowTester) -> None:
    await alice(tester)
    await tester.add_user("bob", PASSWORD)
    await tester.start()
    await tester.submit(login="alice")
    assert tester.page is not None and tester.page.identified_as == "alice"
    await tester.submit(password="wrong")
    await tester.switch_user()
    assert (tester.step, tester.run.attempts, tester.run.subject) == ("identify", {}, None)
    assert tester.run.scratch.get("_flow", {}).get("login") is None
    assert tester.page is not None and tester.page.identified_as is None
    await tester.submit(login="bob")
    await tester.submit(password=PASSWORD)
    user = await tester.store.users.find_by_login("bob")
    assert user is not None and (tester.result, tester.subject) == ("done", user.id)


async def test_a_form_for_another_step_only_shows_the_current_one(tester: FlowTester) -> None:
    await alice(tester)
    await tester.start()
    await tester.submit(login="alice")
    version = tester.run.version
    page = await tester.engine.submit(tester.run, tester.client, {"_step": "identify", "login": "x"})
    assert page is None and tester.run.state == "password" and tester.run.version == version


async def test_acr_values_pick_the_acr_flow(tester: FlowTester) -> None:
    await alice(tester)
    await tester.start(acr_values=["urn:unknown", LOA2])
    assert tester.flow == "strong"


async def test_acr_values_are_in_order_of_preference(tester: FlowTester) -> None:
    """OIDC Core §3.1.2.1: loa:1 first is what the client prefers, and the client's own flow
    reaches it, so loa:2's flow is not chosen for the less preferred value."""
    await alice(tester)
    await tester.start(acr_values=["urn:unknown", LOA1, LOA2])
    assert (tester.flow, tester.step) == ("default", "identify")
    await tester.submit(login="alice")
    await tester.submit(password=PASSWORD)
    assert (tester.result, tester.acr) == ("done", LOA1)
    await tester.start(acr_values=[LOA2, LOA1])
    assert tester.flow == "strong"


async def test_prompt_create_picks_the_registration_flow(tester: FlowTester) -> None:
    await tester.start(prompt=["create"])
    assert tester.run.log[0]["flow"] == "signup"


async def test_the_client_flow_applies_without_acr(tester: FlowTester) -> None:
    partner = ClientRecord(client_id="p", redirect_uris=["https://p.example/cb"], flow="partner")
    await tester.start(client=partner)
    assert (tester.flow, tester.step) == ("partner", "password")


async def test_step_up_runs_only_the_missing_steps(tester: FlowTester) -> None:
    user = await alice(tester)
    earlier = AuthEvent(method="pwd", factor="knowledge", at=tester.now - 60)
    page = await tester.start(session=(user, [earlier]), acr_values=[LOA2])
    assert page is not None and (tester.flow, tester.step) == ("mfa", "otp")
    await tester.submit(code="123456")
    assert (tester.result, tester.subject, tester.acr) == ("done", user.id, LOA2)
    assert tester.path == ["identify", "password", "otp", "mfa", "done"]


async def test_pageless_steps_that_loop_are_stopped() -> None:
    flows = """\
flows:
  default:
    steps:
      a: {type: decide, on: {next: [{to: b, if: login_hint}, {to: done}]}}
      b: {type: decide, on: {next: a}}
"""
    async with FlowTester(flows) as tester:
        with pytest.raises(RunError, match="without a page"):
            await tester.start(login_hint="alice")


CONDITION_CASES = [
    ({"client": "test-client"}, {}, True),
    ({"client": ["other", "x"]}, {}, False),
    ({"client_tag": "internal"}, {}, True),
    ({"acr_requested": LOA2}, {"acr_values": [LOA2]}, True),
    ({"prompt": "login"}, {"prompt": ["consent"]}, False),
    ("login_hint", {"login_hint": "alice"}, True),
    ({"login_hint": False}, {"login_hint": "alice"}, False),
    ({"user_attribute": {"name": "department", "equals": "sales"}}, {}, True),
    ({"user_attribute": {"name": "email_verified", "equals": True}}, {}, False),
    ({"user_attribute": {"name": "department", "in": ["it", "ops"]}}, {}, False),
    ({"user_attribute": {"name": "nickname", "present": False}}, {}, True),
    ({"in_group": ["admins", "staff"]}, {}, True),
    ({"acr_below": LOA2}, {}, True),
    ({"mfa_older_than": 3600}, {}, True),
    ({"proved": "knowledge"}, {}, True),
    ({"proved": ["possession", "inherence"]}, {}, False),
    ("known_device", {}, False),
    ({"attempts": {"step": "password", "over": 0}}, {}, False),
    ({"has_credential": "password"}, {}, True),
    ({"has_credential": "webauthn"}, {}, False),
    ({"all": ["signed_in", {"not": {"in_group": "staff"}}]}, {}, False),
    ({"any": [{"in_group": "nobody"}, {"client_tag": "internal"}]}, {}, True),
]


@pytest.mark.parametrize(("condition", "request_params", "expected"), CONDITION_CASES)
async def test_builtin_conditions(
    condition: object, request_params: dict[str, object], expected: bool
) -> None:
    import json

    flows = f"""\
flows:
  default:
    steps:
      password:
        type: password
        on: {{success: [{{to: done, if: {json.dumps(condition)}}}, {{to: deny}}]}}
"""
    async with FlowTester(flows) as tester:
        tester.client = tester.client.model_copy(update={"tags": ["internal"]})
        await tester.add_user("alice", PASSWORD, groups=["staff"], claims={"department": "sales"})
        await tester.start(**request_params)
        await tester.submit(login="alice", password=PASSWORD)
        assert tester.result == ("done" if expected else "deny")


async def test_custom_condition_by_dotted_path() -> None:
    flows = """\
flows:
  default:
    steps:
      password:
        type: password
        on: {success: [{to: done, if: {"tests.engine.fake_conditions:NameStartsWith": al}}, {to: deny}]}
"""
    async with FlowTester(flows) as tester:
        await tester.add_user("alice", PASSWORD)
        await tester.start()
        await tester.submit(login="alice", password=PASSWORD)
        assert tester.result == "done"
