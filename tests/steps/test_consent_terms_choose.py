"""The consent, terms and choose steps, driven with FlowTester."""

from __future__ import annotations

import pytest

from engine.testing import FlowTester
from store.records import ClientRecord, CredentialRecord

PASSWORD = "a long passphrase"

FLOWS = """\
flows:
  default:
    steps:
      password: {type: password, on: {success: terms}}
      terms:
        type: terms
        options: {version: "2026-11", url: "https://example.com/terms"}
        on: {accepted: consent, declined: {to: deny, message: declined terms}}
      consent:
        type: consent
        on: {accepted: done, denied: deny}
  chooser:
    steps:
      password: {type: password, on: {success: pick}}
      pick:
        type: choose
        options:
          choices:
            - {outcome: app, label: Authenticator app, requires: totp}
            - {outcome: key, label: Security key, requires: webauthn}
            - {outcome: mail, label: Email me a code}
        on: {app: done, key: done, mail: deny}
"""

CONSENTING = ClientRecord(
    client_id="c", client_name="Reports", redirect_uris=["https://c.example/cb"],
    scope="openid profile email offline_access", require_consent=True,
)


@pytest.fixture
async def tester() -> FlowTester:
    async with FlowTester(FLOWS) as flow_tester:
        yield flow_tester  # type: ignore[misc]


async def signed_in_to_consent(tester: FlowTester, client: ClientRecord, **request: object) -> None:
    await tester.start(client=client, **request)
    await tester.submit(login="alice", password=PASSWORD)
    if tester.step == "terms":
        await tester.submit(accept="yes", decision="accept")


async def test_terms_are_accepted_once_per_version(tester: FlowTester) -> None:
    user = await tester.add_user("alice", PASSWORD)
    await tester.start()
    page = await tester.submit(login="alice", password=PASSWORD)
    assert page is not None and tester.step == "terms"
    assert page.values == {"version": "2026-11", "url": "https://example.com/terms", "summary": None}
    page = await tester.submit(decision="accept")  # the box is not ticked
    assert page is not None and page.errors == {"accept": "Tick the box to accept the terms, or decline."}
    await tester.submit(accept="yes", decision="accept")
    assert tester.result == "done"  # consent is not needed for this client and scope
    stored = await tester.store.users.get(user.id)
    assert stored is not None and stored.terms_accepted == {"2026-11": tester.now}
    await tester.start()
    await tester.submit(login="alice", password=PASSWORD)
    assert tester.result == "done" and "terms" in tester.path  # passed without a page


async def test_declining_the_terms_denies_with_the_message(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD)
    await tester.start()
    await tester.submit(login="alice", password=PASSWORD)
    await tester.submit(decision="decline")
    assert (tester.result, tester.message) == ("deny", "declined terms")


async def test_consent_lists_the_scopes_and_is_remembered(tester: FlowTester) -> None:
    user = await tester.add_user("alice", PASSWORD)
    await signed_in_to_consent(tester, CONSENTING, scope="openid email",
                               claims={"userinfo": ["given_name"]})
    assert tester.step == "consent" and tester.page is not None
    assert [scope for scope, _ in tester.page.values["scopes"]] == ["openid", "email"]
    assert tester.page.values["claims"] == ["First name"]
    await tester.submit(decision="allow")
    assert tester.result == "done"
    consent = await tester.store.consents.get("c", user.id)
    assert consent is not None and consent.scopes == ["openid", "email", "claim:given_name"]
    await signed_in_to_consent(tester, CONSENTING, scope="openid email")
    assert tester.result == "done"  # remembered: no page
    await signed_in_to_consent(tester, CONSENTING, scope="openid email profile")
    assert tester.step == "consent"  # a scope not agreed to yet asks again
    await tester.submit(decision="allow")
    consent = await tester.store.consents.get("c", user.id)
    assert consent is not None and consent.scopes == ["openid", "email", "claim:given_name", "profile"]
    await signed_in_to_consent(tester, CONSENTING, scope="openid", claims={"id_token": ["birthdate"]})
    assert tester.step == "consent"  # a claim asked for by name needs its own agreement


async def test_prompt_consent_asks_again(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD)
    await signed_in_to_consent(tester, CONSENTING, scope="openid")
    await tester.submit(decision="allow")
    await signed_in_to_consent(tester, CONSENTING, scope="openid", prompt=["consent"])
    assert tester.step == "consent"
    await tester.submit(decision="allow")
    assert tester.result == "done" and tester.run.scratch["_flow"]["consented"] == ["openid"]


async def test_an_answer_not_remembered_still_counts_for_this_run(tester: FlowTester) -> None:
    flows = FLOWS.replace("        type: consent\n", "        type: consent\n        options: {remember: false}\n")
    async with FlowTester(flows) as once:
        user = await once.add_user("alice", PASSWORD)
        await signed_in_to_consent(once, CONSENTING, scope="openid")
        await once.submit(decision="allow")
        assert once.result == "done" and once.run.scratch["_flow"]["consented"] == ["openid"]
        assert await once.store.consents.get("c", user.id) is None


async def test_every_requested_scope_is_listed(tester: FlowTester) -> None:
    await tester.add_user("alice", PASSWORD)
    odd = CONSENTING.model_copy(update={"scope": "openid payments:write"})
    await signed_in_to_consent(tester, odd, scope="openid payments:write")
    assert tester.page is not None
    assert [scope for scope, _ in tester.page.values["scopes"]] == ["openid", "payments:write"]
    assert tester.page.values["scopes"][1] == ("payments:write", None)


async def test_offline_access_needs_consent_unless_the_client_waives_it(
    tester: FlowTester,
) -> None:
    await tester.add_user("alice", PASSWORD)
    plain = CONSENTING.model_copy(update={"require_consent": False})
    await signed_in_to_consent(tester, plain, scope="openid profile")
    assert tester.result == "done"
    await signed_in_to_consent(tester, plain, scope="openid offline_access")
    assert tester.step == "consent"
    waived = plain.model_copy(update={"offline_access_without_consent": True})
    await signed_in_to_consent(tester, waived, scope="openid offline_access")
    assert tester.result == "done"


async def test_denying_consent_is_the_denied_outcome(tester: FlowTester) -> None:
    user = await tester.add_user("alice", PASSWORD)
    await signed_in_to_consent(tester, CONSENTING, scope="openid")
    await tester.submit(decision="deny")
    assert tester.result == "deny"
    assert await tester.store.consents.get("c", user.id) is None


async def test_choose_offers_what_the_user_can_use(tester: FlowTester) -> None:
    user = await tester.add_user("alice", PASSWORD)
    tester.client = tester.client.model_copy(update={"flow": "chooser"})
    await tester.start()
    await tester.submit(login="alice", password=PASSWORD)
    assert tester.result == "deny" and tester.path[-2] == "pick"  # one choice left: taken
    for kind in ("totp", "webauthn"):
        await tester.store.credentials.add(
            CredentialRecord(id=kind, user_id=user.id, kind=kind, created_at=tester.now)
        )
    await tester.start()
    page = await tester.submit(login="alice", password=PASSWORD)
    assert page is not None and page.values["choices"] == [
        ("app", "Authenticator app"), ("key", "Security key"), ("mail", "Email me a code")
    ]
    page = await tester.submit(choice="nope")
    assert tester.step == "pick"
    await tester.submit(choice="key")
    assert tester.result == "done" and tester.path[-2:] == ["pick", "done"]


def test_choose_outcomes_come_from_its_options() -> None:
    from engine.loader import FlowsError, load_flows_text

    bad = FLOWS.replace("key: done, ", "")
    with pytest.raises(FlowsError, match="does not say where 'key' leads"):
        load_flows_text(bad)
