"""Passkeys: enrollment, second factor, usernameless and identify-page sign-in, counters, and
remembering a browser; driven with FlowTester and a software authenticator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from webauthn.helpers import bytes_to_base64url

from engine.testing import FlowTester
from steps.base import BrowserFacts
from steps.passkey_setup import MAX_PASSKEYS, TOO_MANY
from steps.webauthn import CLONED, NOT_CHECKED, UNKNOWN
from store.records import UserRecord
from tests.steps.pages import render_step_page
from tests.steps.soft_authenticator import SoftAuthenticator

PASSWORD = "a long passphrase"

FLOWS = """\
default_flow: enroll
flows:
  enroll:
    steps:
      password: {type: password, on: {success: add}}
      add: {type: passkey_setup, on: {success: done, skip: done}}
  second:
    steps:
      password: {type: password, on: {success: key}}
      key: {type: passkey, on: {success: remember}}
      remember: {type: remember_device, options: {days: 7}, on: {success: done}}
  strict:
    steps:
      password: {type: password, on: {success: key}}
      key: {type: passkey, options: {user_verification: required}, on: {success: done}}
  usernameless:
    steps:
      key: {type: passkey, on: {success: done}}
  identify:
    steps:
      identify:
        type: identify
        options: {passkeys: true}
        on: {success: password, passkey: done}
      password: {type: password, on: {success: done}}
"""


@pytest.fixture
async def tester() -> AsyncIterator[FlowTester]:
    async with FlowTester(FLOWS) as flow_tester:
        yield flow_tester


def options(tester: FlowTester) -> str:
    assert tester.page is not None
    value = tester.page.values["webauthn_options"]
    assert isinstance(value, str)
    return value


async def enrolled(
    tester: FlowTester, authenticator: SoftAuthenticator, name: str = "Laptop"
) -> UserRecord:
    user = await tester.add_user("alice", PASSWORD)
    await tester.start(flow="enroll")
    await tester.submit(login="alice", password=PASSWORD)
    assert tester.step == "add"
    await tester.submit(name=name, credential=authenticator.create(options(tester)))
    assert tester.result == "done"
    return user


async def test_enrollment_stores_a_named_discoverable_passkey(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator, name="  Work   laptop ")
    [passkey] = await tester.store.credentials.for_user(user.id)
    assert passkey.kind == "webauthn" and passkey.name == "Work laptop"
    assert passkey.data["sign_count"] == 0 and passkey.data["transports"] == ["internal"]
    assert tester.amr == ["pwd", "hwk", "user", "mfa"]  # the new authenticator checked the user


async def test_creation_options_ask_for_a_passkey_and_exclude_the_ones_held(
    tester: FlowTester,
) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    await tester.start(flow="enroll", session=(user, []))
    await tester.submit(password=PASSWORD)
    created = json.loads(options(tester))
    assert created["authenticatorSelection"]["residentKey"] == "required"
    assert created["attestation"] == "none"
    assert created["rp"] == {"id": "localhost", "name": "Gatehouse"}
    held = bytes_to_base64url(authenticator.keys[0].credential_id)
    assert [c["id"] for c in created["excludeCredentials"]] == [held]


async def test_an_account_has_at_most_max_passkeys(tester: FlowTester) -> None:
    user = await enrolled(tester, SoftAuthenticator())
    for n in range(MAX_PASSKEYS - 1):
        await tester.start(flow="enroll", session=(user, []))
        await tester.submit(password=PASSWORD)
        await tester.submit(name=f"Key {n}", credential=SoftAuthenticator().create(options(tester)))
        assert tester.result == "done"
    await tester.start(flow="enroll", session=(user, []))
    await tester.submit(password=PASSWORD)
    assert tester.page is not None and tester.page.errors["page"] == TOO_MANY
    assert "webauthn_options" not in tester.page.values
    sent = SoftAuthenticator().create(json.dumps({  # a ceremony made elsewhere is refused too
        "challenge": "AAAA", "rp": {"id": "localhost", "name": "x"},
        "user": {"id": "AAAA", "name": "alice", "displayName": "alice"},
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}]}))
    await tester.submit(name="One more", credential=sent)
    assert tester.page is not None and tester.page.errors["page"] == TOO_MANY
    assert len(await tester.store.credentials.for_user(user.id)) == MAX_PASSKEYS


async def test_a_response_for_another_origin_or_challenge_is_refused(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD)
    await tester.start(flow="enroll")
    await tester.submit(login="alice", password=PASSWORD)
    phishing = SoftAuthenticator(origin="https://login.example.evil")
    page = await tester.submit(credential=phishing.create(options(tester)))
    assert page is not None and page.errors == {"credential": NOT_CHECKED}
    stale = options(tester)
    await tester.submit(credential="{}")  # a failed try uses up the page's challenge
    page = await tester.submit(credential=SoftAuthenticator().create(stale))
    assert page is not None and page.errors == {"credential": NOT_CHECKED}
    assert tester.step == "add"


async def test_passkey_as_second_factor_then_remember_the_browser(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    await tester.start(flow="second")
    await tester.submit(login="alice", password=PASSWORD)
    assert tester.step == "key"
    assert [c["id"] for c in json.loads(options(tester))["allowCredentials"]] == [
        bytes_to_base64url(authenticator.keys[0].credential_id)
    ]
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.step == "remember" and tester.page is not None
    assert tester.page.values == {"days": 7}
    await tester.submit(remember="yes")
    assert tester.result == "done" and tester.amr == ["pwd", "hwk", "user", "mfa"]
    memory = tester.run.remember_device
    assert memory is not None and memory.subject == user.id
    assert memory.until == tester.now + 7 * 24 * 3600
    [passkey] = await tester.store.credentials.for_user(user.id)
    assert passkey.data["sign_count"] == 1 and passkey.last_used_at == tester.now


async def test_a_remembered_browser_is_not_offered_to_be_remembered_again(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    tester.browser = BrowserFacts({user.id: tester.now})
    await tester.start(flow="second")
    await tester.submit(login="alice", password=PASSWORD)
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.result == "done" and tester.run.remember_device is None


async def test_declining_to_remember_sets_nothing(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    await enrolled(tester, authenticator)
    await tester.start(flow="second")
    await tester.submit(login="alice", password=PASSWORD)
    await tester.submit(credential=authenticator.get(options(tester)))
    await tester.submit(remember="no")
    assert tester.result == "done" and tester.run.remember_device is None


async def test_another_users_passkey_is_not_a_second_factor(tester: FlowTester) -> None:
    mallory_key = SoftAuthenticator()
    await enrolled(tester, mallory_key)
    await tester.add_user("bob", PASSWORD)
    await tester.start(flow="second")
    await tester.submit(login="bob", password=PASSWORD)
    page = await tester.submit(credential=mallory_key.get(options(tester)))
    assert page is not None and page.errors == {"credential": UNKNOWN}
    assert tester.step == "key" and tester.amr == ["pwd"]


async def test_required_user_verification_refuses_a_presence_only_passkey(
    tester: FlowTester,
) -> None:
    authenticator = SoftAuthenticator()
    await enrolled(tester, authenticator)
    authenticator.verifies_user = False
    await tester.start(flow="strict")
    await tester.submit(login="alice", password=PASSWORD)
    page = await tester.submit(credential=authenticator.get(options(tester)))
    assert page is not None and page.errors == {"credential": NOT_CHECKED}
    authenticator.verifies_user = True
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.result == "done"


async def test_usernameless_sign_in_finds_the_user_from_the_passkey(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    await tester.start(flow="usernameless")
    assert json.loads(options(tester))["allowCredentials"] == []
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.result == "done" and tester.subject == user.id
    assert tester.amr == ["hwk", "user", "mfa"] and tester.acr == "urn:gatehouse:loa:2"


async def test_a_synced_presence_only_passkey_is_one_factor(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator(synced=True, verifies_user=False)
    await enrolled(tester, authenticator)
    await tester.start(flow="usernameless")
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.amr == ["swk", "user"] and tester.acr == "urn:gatehouse:loa:1"


async def test_a_counter_that_goes_back_flags_the_passkey_as_cloned(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    for _ in range(2):
        await tester.start(flow="usernameless")
        await tester.submit(credential=authenticator.get(options(tester)))
        assert tester.result == "done"
    await tester.start(flow="usernameless")
    page = await tester.submit(credential=authenticator.get(options(tester), counter=1))
    assert page is not None and page.errors == {"credential": CLONED}
    [passkey] = await tester.store.credentials.for_user(user.id)
    assert passkey.data["clone_suspected"] is True and passkey.data["sign_count"] == 2
    await tester.submit(credential=authenticator.get(options(tester)))  # refused from now on
    assert tester.page is not None and tester.page.errors == {"credential": CLONED}


async def test_an_unknown_or_malformed_credential_is_refused(tester: FlowTester) -> None:
    await enrolled(tester, SoftAuthenticator())
    await tester.start(flow="usernameless")
    page = await tester.submit(credential=_stranger(options(tester)))
    assert page is not None and page.errors == {"credential": UNKNOWN}
    for junk in ("not json", "[]", '{"rawId": 5}', "x" * 20000):
        page = await tester.submit(credential=junk)
        assert page is not None and page.errors == {"credential": NOT_CHECKED}, junk


def _stranger(options_json: str) -> str:
    stranger = SoftAuthenticator()
    stranger.create(json.dumps({"rp": {"id": "localhost"}, "user": {"id": "AA"},
                                "challenge": "AA"}))
    return stranger.get(options_json)


async def test_identify_page_signs_in_with_a_passkey(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    await tester.start(flow="identify")
    assert tester.step == "identify"
    html = render_step_page(tester.page) if tester.page else ""
    assert 'autocomplete="username webauthn"' in html and 'data-webauthn="conditional"' in html
    await tester.submit(credential=authenticator.get(options(tester)))
    assert tester.result == "done" and tester.subject == user.id
    assert tester.path == ["identify", "done"]


async def test_identify_page_still_takes_a_username(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD)
    await tester.start(flow="identify")
    await tester.submit(login="alice")
    assert tester.step == "password"


KNOWN_DEVICE = """\
flows:
  default:
    steps:
      password:
        type: password
        on: {success: [{to: done, if: known_device}, {to: deny}]}
"""


async def test_known_device_holds_until_the_user_forgets_remembered_browsers() -> None:
    async with FlowTester(KNOWN_DEVICE) as tester:
        user = await tester.add_user("alice", PASSWORD)
        await tester.add_user("bob", PASSWORD)
        tester.browser = BrowserFacts({user.id: tester.now - 60})

        async def result(login: str) -> str | None:
            await tester.start()
            await tester.submit(login=login, password=PASSWORD)
            return tester.result

        assert await result("alice") == "done"
        assert await result("bob") == "deny"  # remembered for alice only
        user.devices_forgotten_at = tester.now
        await tester.store.users.update(user)
        assert await result("alice") == "deny"


async def test_hostile_registration_responses_get_the_page_again(tester: FlowTester) -> None:
    authenticator = SoftAuthenticator()
    user = await enrolled(tester, authenticator)
    await tester.start(flow="enroll", session=(user, []))
    await tester.submit(password=PASSWORD)
    taken = authenticator.keys[0].credential_id
    page = await tester.submit(credential=authenticator.create(options(tester), taken))
    assert page is not None and page.errors == {"credential": NOT_CHECKED}
    for junk in ("[" * 5000 + "]" * 5000, '{"response": {"transports": 5}}'):
        page = await tester.submit(credential=junk)
        assert page is not None and page.errors == {"credential": NOT_CHECKED}
    odd = json.loads(authenticator.create(options(tester)))
    odd["response"]["transports"] = "usb"
    await tester.submit(credential=json.dumps(odd))
    assert tester.result == "done"
    stored = {c.id: c for c in await tester.store.credentials.for_user(user.id)}
    assert len(stored) == 2
    added = stored.pop(f"webauthn:{odd['rawId']}")
    assert added.data["transports"] == []
