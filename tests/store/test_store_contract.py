"""The store contract: every store (embedded SQLite, MongoDB) passes this same suite.

`store` and `store_url` come from tests/conftest.py, once per backend (`[sqlite]`,
`[secantusdb]`, and `[mongodb]` when GATEHOUSE_TEST_MONGODB_URI is set).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import BaseModel

from store import DuplicateError, StaleVersionError, Store, open_store
from store.document_store import DocumentStore
from store.records import (
    AccessTokenRecord,
    AuditRecord,
    ClientRecord,
    CodeRecord,
    ConsentRecord,
    CredentialRecord,
    DeviceApproval,
    DeviceCodeRecord,
    FlowRunRecord,
    GrantRecord,
    LinkedIdentityRecord,
    PushedRequestRecord,
    RefreshTokenRecord,
    RunLogRecord,
    SessionRecord,
    SigningKeyRecord,
    ThrottleRecord,
    UserRecord,
)
from store.repositories import Redemption
from store.sign_in_request import Finish, Prompt, SignInRequest

# A day ahead of the real clock: expiry is tested through the `now` the store is given, and a
# TTL index (which follows the real clock) never removes a document in the middle of a test.
NOW = float(int(time.time()) + 86400)


def user(user_id: str, username: str, email: str | None = None) -> UserRecord:
    return UserRecord(id=user_id, username=username, email=email, created_at=NOW)


def run(run_id: str = "run-1", expires_at: float = NOW + 600) -> FlowRunRecord:
    return FlowRunRecord(
        id=run_id, flow="default", flows_version="h", state="identify",
        sign_in=SignInRequest(client_id="app", scopes=["openid"], prompt={Prompt.LOGIN},
                              finish=Finish(kind="authorization_response", data={"state": "s"})),
        browser_hash="b", csrf_token="c",
        created_at=NOW, expires_at=expires_at,
    )


def grant(grant_id: str = "g-1", expires_at: float = NOW + 3600) -> GrantRecord:
    return GrantRecord(
        id=grant_id, client_id="app", subject="u1", scope="openid", sid="sid-1", auth_time=NOW,
        amr=["pwd"], acr="urn:gatehouse:loa:1", created_at=NOW, expires_at=expires_at,
    )


def code(code_id: str = "code-1", expires_at: float = NOW + 60) -> CodeRecord:
    return CodeRecord(id=code_id, grant_id="g-1", client_id="app",
                      redirect_uri="https://a.example/cb", expires_at=expires_at)


def session(session_id: str = "s-1", expires_at: float = NOW + 3600) -> SessionRecord:
    return SessionRecord(
        id=session_id, sid="sid-1", subject="u1", auth_time=NOW, amr=["pwd"],
        acr="urn:gatehouse:loa:1", created_at=NOW, expires_at=expires_at,
    )


def key(kid: str, created_at: float, sealed: str = "sealed") -> SigningKeyRecord:
    return SigningKeyRecord(kid=kid, alg="RS256", sealed_jwk=sealed, created_at=created_at)


# users


@pytest.mark.parametrize(
    ("username", "email"), [("aLICE", "other@example.com"), ("bob", "ALICE@example.COM")]
)
async def test_username_and_email_are_unique_case_insensitively(
    store: Store, username: str, email: str
) -> None:
    await store.users.add(user("u1", "Alice", "Alice@Example.com"))
    with pytest.raises(DuplicateError):
        await store.users.add(user("u2", username, email))
    assert (await store.users.get("u2")) is None


async def test_users_without_email_do_not_collide(store: Store) -> None:
    await store.users.add(user("u1", "alice"))
    await store.users.add(user("u2", "bob"))
    assert (await store.users.get("u2")) == user("u2", "bob")


@pytest.mark.parametrize(
    ("login", "found_id"),
    [("alice", "u1"), ("ALICE", "u1"), ("aLiCe", "u1"), ("alice@example.com", "u1"),
     ("Alice@EXAMPLE.com", "u1"), ("BOB@example.com", "u2"), ("alicia", None),
     ("alice@example.org", None)],
)
async def test_find_by_login_by_username_or_email_in_any_case(
    store: Store, login: str, found_id: str | None
) -> None:
    await store.users.add(user("u1", "Alice", "alice@Example.com"))
    await store.users.add(user("u2", "bob", "bob@example.com"))
    found = await store.users.find_by_login(login)
    assert (found.id if found else None) == found_id
    if found_id == "u1":
        assert found == user("u1", "Alice", "alice@Example.com")


# clients


async def test_clients_put_get_all_and_put_replaces(store: Store) -> None:
    first = ClientRecord(client_id="a", client_name="A", redirect_uris=["https://a/cb"])
    second = ClientRecord(client_id="b", client_name="B", flow="one-page")
    await store.clients.put(first)
    await store.clients.put(second)
    assert (await store.clients.get("a")) == first
    assert (await store.clients.get("missing")) is None
    changed = await store.clients.get("a")
    assert changed is not None
    changed.client_name = "changed by a caller"  # a record read is the caller's own copy
    assert (await store.clients.get("a")) == first
    renamed = first.model_copy(update={"client_name": "A2", "redirect_uris": ["https://a/2"]})
    await store.clients.put(renamed)
    assert (await store.clients.get("a")) == renamed
    assert sorted(c.client_id for c in await store.clients.all()) == ["a", "b"]
    assert {c.client_id: c.client_name for c in await store.clients.all()} == {"a": "A2", "b": "B"}


# flow runs


async def test_run_add_get_expiry_and_duplicate(store: Store) -> None:
    await store.runs.add(run(expires_at=NOW + 10))
    assert (await store.runs.get("run-1", NOW)) == run(expires_at=NOW + 10)
    assert (await store.runs.get("run-1", NOW + 10)) is None
    assert (await store.runs.get("other", NOW)) is None
    with pytest.raises(DuplicateError):
        await store.runs.add(run())


class OlderRun(BaseModel):
    """A run document as an earlier version wrote it (its request a plain dict)."""

    id: str
    version: int = 0
    request: dict[str, str]
    expires_at: float


async def test_a_run_written_in_an_older_shape_reads_as_gone(store: Store) -> None:
    assert isinstance(store, DocumentStore)
    older = OlderRun(id="old", request={"scope": "openid"}, expires_at=NOW + 60)
    await store.collections["flow_runs"].insert(older)  # type: ignore[arg-type]
    assert await store.runs.get("old", NOW) is None


async def test_run_save_bumps_version_and_stale_save_loses(store: Store) -> None:
    await store.runs.add(run())
    first = await store.runs.get("run-1", NOW)
    stale = await store.runs.get("run-1", NOW)
    assert first is not None and stale is not None
    first.state = "password"
    await store.runs.save(first)
    assert first.version == 1
    stored = await store.runs.get("run-1", NOW)
    assert stored is not None and (stored.version, stored.state) == (1, "password")
    stale.state = "deny"
    with pytest.raises(StaleVersionError):
        await store.runs.save(stale)
    assert stale.version == 0
    assert (await store.runs.get("run-1", NOW)) == first
    await store.runs.save(first)
    assert first.version == 2


async def test_run_delete_with_stale_version_raises(store: Store) -> None:
    await store.runs.add(run())
    fresh = await store.runs.get("run-1", NOW)
    stale = await store.runs.get("run-1", NOW)
    assert fresh is not None and stale is not None
    await store.runs.save(fresh)
    with pytest.raises(StaleVersionError):
        await store.runs.delete(stale)
    assert (await store.runs.get("run-1", NOW)) is not None
    await store.runs.delete(fresh)
    assert (await store.runs.get("run-1", NOW)) is None
    with pytest.raises(StaleVersionError):
        await store.runs.delete(fresh)


# grants, codes and refresh tokens (single use: of concurrent redeemers exactly one is first)


async def test_grant_add_get_revoke_and_expiry(store: Store) -> None:
    await store.grants.add(grant(expires_at=NOW + 10))
    assert (await store.grants.get("g-1", NOW)) == grant(expires_at=NOW + 10)
    await store.grants.revoke("g-1")
    revoked = await store.grants.get("g-1", NOW)
    assert revoked is not None and revoked.revoked is True
    assert revoked.model_copy(update={"revoked": False}) == grant(expires_at=NOW + 10)
    assert (await store.grants.get("g-1", NOW + 10)) is None


async def test_an_unstored_grant_is_kept_once_revoked(store: Store) -> None:
    unstored = grant("jti-1", expires_at=NOW + 10)
    assert (await store.grants.get("jti-1", NOW)) is None
    await asyncio.gather(*(store.grants.revoke_unstored(unstored) for _ in range(3)))
    assert (await store.grants.get("jti-1", NOW)) == unstored.model_copy(update={"revoked": True})
    assert (await store.grants.get("jti-1", NOW + 10)) is None


async def test_code_is_redeemed_first_once(store: Store) -> None:
    await store.codes.add(code())
    used = code().model_copy(update={"version": 1})
    assert (await store.codes.redeem("code-1", NOW, "app")) == Redemption(used, True)
    again = await store.codes.redeem("code-1", NOW, "app")
    assert again is not None and (again.record.id, again.first) == ("code-1", False)
    assert (await store.codes.redeem("other", NOW, "app")) is None
    assert (await store.codes.redeem("code-1", NOW + 60, "app")) is None


async def test_expired_code_is_not_returned(store: Store) -> None:
    await store.codes.add(code(expires_at=NOW + 60))
    assert (await store.codes.redeem("code-1", NOW + 60, "app")) is None
    used = code().model_copy(update={"version": 1})
    assert (await store.codes.redeem("code-1", NOW + 59, "app")) == Redemption(used, True)


async def test_a_redeemed_record_reads_back_as_used(store: Store) -> None:
    await store.codes.add(code())
    await store.codes.redeem("code-1", NOW, "app")
    again = await store.codes.redeem("code-1", NOW, "app")
    assert again is not None and again.record.version == 1


def winners(results: list[Redemption[CodeRecord] | None]) -> int:
    """How many of 50 redemptions of `code-1` were first (all must have found the code)."""
    assert len(results) == 50
    assert all(r is not None and r.record.id == "code-1" for r in results)
    return [r.first for r in results if r is not None].count(True)


async def test_concurrent_redeem_on_one_connection_has_one_winner(store: Store) -> None:
    await store.codes.add(code())
    results = await asyncio.gather(*(store.codes.redeem("code-1", NOW, "app") for _ in range(50)))
    assert winners(results) == 1


async def test_concurrent_redeem_on_two_connections_has_one_winner(store_url: str) -> None:
    first = await open_store(store_url)
    try:
        second = await open_store(store_url)  # as a second server process would
        try:
            await first.codes.add(code())
            results = await asyncio.gather(
                *(s.codes.redeem("code-1", NOW, "app") for _ in range(25) for s in (first, second))
            )
        finally:
            await second.close()
    finally:
        await first.close()
    assert winners(results) == 1


# sessions, keys, secrets


async def test_sessions_add_get_delete_and_expiry(store: Store) -> None:
    await store.sessions.add(session("s-1", expires_at=NOW + 100))
    await store.sessions.add(session("s-2"))
    assert (await store.sessions.get("s-1", NOW)) == session("s-1", expires_at=NOW + 100)
    assert (await store.sessions.get("s-1", NOW + 100)) is None
    await store.sessions.delete("s-2")
    assert (await store.sessions.get("s-2", NOW)) is None
    await store.sessions.delete("never-there")


async def test_sessions_of_a_user_are_the_live_ones_oldest_first(store: Store) -> None:
    for session_id, created, expires, subject in (
        ("s-new", NOW + 5, NOW + 3600, "u1"), ("s-old", NOW, NOW + 3600, "u1"),
        ("s-gone", NOW, NOW + 10, "u1"), ("s-other", NOW, NOW + 3600, "u2"),
    ):
        await store.sessions.add(session(session_id, expires_at=expires).model_copy(
            update={"created_at": created, "subject": subject, "user_agent": "Firefox"}))
    found = await store.sessions.for_subject("u1", NOW + 10)
    assert [s.id for s in found] == ["s-old", "s-new"] and found[0].user_agent == "Firefox"
    assert await store.sessions.for_subject("nobody", NOW) == []
    assert await store.sessions.count_for_subject("u1", NOW + 10) == 2  # s-gone has expired
    assert await store.sessions.count_for_subject("u1", NOW) == 3
    assert await store.sessions.count_for_subject("nobody", NOW) == 0
    assert [s.id for s in await store.sessions.oldest_for_subject("u1", NOW + 10, 1)] == ["s-old"]
    oldest = await store.sessions.oldest_for_subject("u1", NOW + 10, 5)
    assert [s.id for s in oldest] == ["s-old", "s-new"]


async def test_keys_add_twice_keeps_the_first_and_list_oldest_first(store: Store) -> None:
    await store.keys.add(key("new", NOW + 100))
    await store.keys.add(key("old", NOW))
    await store.keys.add(key("new", NOW + 100, sealed="replacement"))
    keys = await store.keys.all()
    assert [k.kid for k in keys] == ["old", "new"]
    assert keys[1].sealed_jwk == "sealed"


async def test_sealing_a_key_drops_its_clear_copy_and_keeps_its_retirement(store: Store) -> None:
    await store.keys.add(SigningKeyRecord(
        kid="k1", alg="RS256", private_jwk={"kty": "RSA", "d": "secret"}, created_at=NOW))
    await store.keys.retire("k1", NOW + 50)
    await store.keys.seal("k1", "sealed-jwk")
    [stored] = await store.keys.all()
    assert (stored.sealed_jwk, stored.private_jwk, stored.retires_at) == (
        "sealed-jwk", None, NOW + 50)


async def test_secrets_get_or_create_returns_the_first_value(store: Store) -> None:
    assert (await store.secrets.get_or_create("cookie", "first")) == "first"
    assert (await store.secrets.get_or_create("cookie", "second")) == "first"
    assert (await store.secrets.get_or_create("other", "x")) == "x"


async def test_secrets_read_and_replaced(store: Store) -> None:
    assert await store.secrets.get("cookie") is None
    await store.secrets.get_or_create("cookie", "clear")
    await store.secrets.replace("cookie", "sealed")
    assert await store.secrets.get("cookie") == "sealed"
    assert await store.secrets.get_or_create("cookie", "again") == "sealed"


async def test_another_client_cannot_redeem_or_burn_a_code(store: Store) -> None:
    await store.codes.add(code())
    assert await store.codes.redeem("code-1", NOW, "thief") is None
    won = await store.codes.redeem("code-1", NOW, "app")
    assert won is not None and won.first
    assert await store.codes.redeem("code-1", NOW, "thief") is None  # not even told it was used


async def test_a_pushed_request_is_used_once_by_its_own_client_before_it_expires(
    store: Store,
) -> None:
    pushed = PushedRequestRecord(
        id="par-1", client_id="app", params={"scope": ["openid"], "state": ["s"]},
        expires_at=NOW + 60,
    )
    await store.pushed_requests.add(pushed)
    assert await store.pushed_requests.redeem("par-1", NOW, "thief") is None
    assert await store.pushed_requests.redeem("par-1", NOW + 60, "app") is None
    first = await store.pushed_requests.redeem("par-1", NOW + 59, "app")
    assert first == Redemption(pushed.model_copy(update={"version": 1}), True)
    again = await store.pushed_requests.redeem("par-1", NOW, "app")
    assert again is not None and not again.first


async def test_a_device_code_is_found_by_its_user_code_decided_and_redeemed_once(
    store: Store,
) -> None:
    record = DeviceCodeRecord(id="dev-1", user_code="BCDFGHJK", client_id="tv", scope="openid",
                              interval=5, expires_at=NOW + 600)
    await store.device_codes.add(record)
    with pytest.raises(DuplicateError):
        await store.device_codes.add(record.model_copy(update={"id": "dev-2"}))
    assert await store.device_codes.by_user_code("bcdfghjk", NOW) == record
    assert await store.device_codes.by_user_code("BCDFGHJK", NOW + 600) is None
    await store.device_codes.polled("dev-1", NOW + 1, 10)
    approval = DeviceApproval(subject="u1", sid="s1", auth_time=NOW, amr=["pwd"])
    await store.device_codes.decide("dev-1", approval)
    decided = await store.device_codes.get("dev-1")
    assert decided is not None and decided.approval == approval and decided.interval == 10
    assert await store.device_codes.redeem("dev-1", NOW, "another-client") is None
    assert await store.device_codes.redeem("dev-1", NOW, "tv") is not None
    assert await store.device_codes.redeem("dev-1", NOW, "tv") is None


def credential(credential_id: str, user_id: str = "u1", **data: object) -> CredentialRecord:
    return CredentialRecord(
        id=credential_id, user_id=user_id, kind="totp", data=dict(data), created_at=NOW
    )


async def test_credentials_of_a_user_oldest_first_and_ids_unique(store: Store) -> None:
    await store.credentials.add(credential("c2"))
    await store.credentials.add(credential("c1").model_copy(update={"created_at": NOW - 5}))
    await store.credentials.add(credential("c3", user_id="u2"))
    assert [c.id for c in await store.credentials.for_user("u1")] == ["c1", "c2"]
    with pytest.raises(DuplicateError):
        await store.credentials.add(credential("c1"))


async def test_credential_update_is_versioned_so_a_counter_moves_once(store: Store) -> None:
    await store.credentials.add(credential("c1", last_step=10))
    first, second = await store.credentials.get("c1"), await store.credentials.get("c1")
    assert first is not None and second is not None
    first.data["last_step"] = second.data["last_step"] = 11
    await store.credentials.update(first)
    with pytest.raises(StaleVersionError):
        await store.credentials.update(second)  # the same code used twice at once: one wins
    stored = await store.credentials.get("c1")
    assert stored is not None and stored.version == 1 and stored.data["last_step"] == 11


async def test_credential_delete_says_whether_it_deleted(store: Store) -> None:
    await store.credentials.add(credential("c1"))
    assert await store.credentials.delete("c1") is True
    assert await store.credentials.delete("c1") is False
    assert await store.credentials.get("c1") is None


def identity(provider: str, upstream_subject: str, user_id: str = "u1") -> LinkedIdentityRecord:
    return LinkedIdentityRecord(
        id=LinkedIdentityRecord.key(provider, upstream_subject), provider=provider,
        upstream_subject=upstream_subject, user_id=user_id, linked_at=NOW,
    )


async def test_linked_identities_by_upstream_account_and_by_user(store: Store) -> None:
    await store.identities.add(identity("corp", "123"))
    await store.identities.add(identity("social", "123").model_copy(update={"linked_at": NOW - 5}))
    await store.identities.add(identity("corp", "456", user_id="u2"))
    found = await store.identities.get("corp", "123")
    assert found is not None and found.user_id == "u1"
    assert await store.identities.get("corp", "789") is None
    assert [i.provider for i in await store.identities.for_user("u1")] == ["social", "corp"]
    with pytest.raises(DuplicateError):  # one upstream account links to one user only
        await store.identities.add(identity("corp", "123", user_id="u2"))
    await store.identities.touch(found, NOW + 1)
    touched = await store.identities.get("corp", "123")
    assert touched is not None and touched.last_used_at == NOW + 1
    assert await store.identities.delete(found.id) is True
    assert await store.identities.delete(found.id) is False
    assert await store.identities.get("corp", "123") is None


async def test_user_update_keeps_usernames_and_emails_unique(store: Store) -> None:
    await store.users.add(user("u1", "alice", "alice@example.com"))
    await store.users.add(user("u2", "bob", "bob@example.com"))
    with pytest.raises(DuplicateError):
        await store.users.update(user("u2", "bob", "ALICE@example.com"))
    renamed = user("u2", "robert", "robert@example.com")
    await store.users.update(renamed)
    assert await store.users.find_by_login("ROBERT@example.com") == renamed
    assert await store.users.find_by_login("bob") is None
    assert await store.users.find_by_login("bob@example.com") is None


async def test_documents_keep_keys_with_dots_and_dollars_and_nested_values(store: Store) -> None:
    """Terms versions ("2024.1"), claim names and step names are keys in stored documents."""
    alice = user("u1", "alice").model_copy(update={
        "terms_accepted": {"2024.1": NOW}, "groups": ["a", "b"],
        "claims": {"address": {"street_address": "1 Main St", "country": "FR"},
                   "$weird.claim": [1, 2.5, None, True], "name": "Ålice ✓"},
    })
    await store.users.add(alice)
    assert await store.users.get("u1") == alice
    started = run().model_copy(update={"scratch": {"step.one": {"$x": {"y.z": 1}}}})
    await store.runs.add(started)
    assert await store.runs.get("run-1", NOW) == started


async def test_consents_put_get_replace_and_delete(store: Store) -> None:
    first = ConsentRecord(id=ConsentRecord.key("app", "u1"), subject="u1", client_id="app",
                          scopes=["openid"], updated_at=NOW)
    await store.consents.put(first)
    assert await store.consents.get("app", "u1") == first
    assert await store.consents.get("app", "u2") is None
    more = first.model_copy(update={"scopes": ["openid", "email"], "updated_at": NOW + 1})
    await store.consents.put(more)
    assert await store.consents.get("app", "u1") == more
    await store.consents.delete("app", "u1")
    assert await store.consents.get("app", "u1") is None


async def test_reference_access_tokens_expire(store: Store) -> None:
    token = AccessTokenRecord(id="t-1", claims={"sub": "u1", "scope": "openid"},
                              expires_at=NOW + 60)
    await store.access_tokens.add(token)
    assert await store.access_tokens.get("t-1", NOW) == token
    assert await store.access_tokens.get("t-1", NOW + 60) is None
    with pytest.raises(DuplicateError):
        await store.access_tokens.add(token)


async def test_grants_of_a_session_and_revoking_the_online_ones(store: Store) -> None:
    await store.grants.add(grant("g-1"))
    await store.grants.add(grant("g-2").model_copy(update={"scope": "openid offline_access"}))
    await store.grants.add(grant("g-3").model_copy(update={"sid": "sid-2"}))
    assert sorted(g.id for g in await store.grants.for_session("sid-1")) == ["g-1", "g-2"]
    await store.grants.revoke_online("sid-1")
    revoked = {g.id: g.revoked for g in await store.grants.for_session("sid-1")}
    assert revoked == {"g-1": True, "g-2": False}
    other = await store.grants.get("g-3", NOW)
    assert other is not None and not other.revoked


def refresh(token_id: str = "rt-1", expires_at: float = NOW + 600) -> RefreshTokenRecord:
    return RefreshTokenRecord(id=token_id, grant_id="g-1", client_id="app", scope="openid",
                              created_at=NOW, expires_at=expires_at)


async def test_refresh_tokens_are_redeemed_once_by_their_own_client(store: Store) -> None:
    await store.refresh_tokens.add(refresh())
    assert await store.refresh_tokens.redeem("rt-1", NOW, "other") is None
    won = await store.refresh_tokens.redeem("rt-1", NOW, "app")
    assert won == Redemption(refresh().model_copy(update={"version": 1}), True)
    again = await store.refresh_tokens.redeem("rt-1", NOW, "app")
    assert again is not None and not again.first
    assert await store.refresh_tokens.redeem("rt-1", NOW + 600, "app") is None


async def test_key_retirement_is_stored(store: Store) -> None:
    await store.keys.add(key("k1", NOW))
    await store.keys.retire("k1", NOW + 50)
    [stored] = await store.keys.all()
    assert stored.retires_at == NOW + 50 and stored.sealed_jwk == "sealed"


async def test_replay_cache_sees_a_value_once_until_it_expires(store: Store) -> None:
    assert await store.replay.first_use("jti-1", NOW + 60, NOW)
    assert not await store.replay.first_use("jti-1", NOW + 60, NOW + 30)
    assert await store.replay.first_use("jti-2", NOW + 60, NOW)
    assert await store.replay.first_use("jti-1", NOW + 200, NOW + 60)  # expired: new again


async def test_purge_removes_expired_documents_only(store: Store) -> None:
    assert isinstance(store, DocumentStore)
    await store.codes.add(code("old", expires_at=NOW + 10))
    await store.codes.add(code("new", expires_at=NOW + 100))
    await store.runs.add(run("r-old", expires_at=NOW + 10))
    await store.users.add(user("u1", "alice"))
    await store.purge_expired(NOW + 10)
    assert await store.collections["codes"].get("old") is None
    assert await store.collections["flow_runs"].get("r-old") is None
    assert await store.collections["codes"].get("new") is not None
    assert await store.users.get("u1") is not None


async def test_purge_deletes_in_batches_and_counts(store: Store) -> None:
    """A purge deletes `batch` documents per statement until none is left, and says how many:
    the write lock is held for a batch, not for the whole purge."""
    for i in range(25):
        await store.codes.add(code(f"old-{i}", expires_at=NOW + 10))
    await store.codes.add(code("live", expires_at=NOW + 100))
    assert await store.purge_expired(NOW + 10, batch=10) == 25
    assert await store.purge_expired(NOW + 10, batch=10) == 0
    assert await store.codes.get("live", NOW + 10) is not None


async def test_insert_if_absent_keeps_the_first_and_still_guards_unique_fields(
    store: Store,
) -> None:
    assert isinstance(store, DocumentStore)
    users = store.collections["users"]
    assert await users.insert_if_absent(user("u1", "alice"))
    assert not await users.insert_if_absent(user("u1", "changed"))
    with pytest.raises(DuplicateError):
        await users.insert_if_absent(user("u2", "ALICE"))
    assert await store.users.get("u1") == user("u1", "alice")


async def test_throttles_add_save_versioned_expire_and_delete(store: Store) -> None:
    record = ThrottleRecord(id="password:account:u1", failures=1, expires_at=NOW + 100)
    await store.throttles.add(record, NOW)
    with pytest.raises(DuplicateError):
        await store.throttles.add(record, NOW)
    first = await store.throttles.get(record.id, NOW)
    stale = await store.throttles.get(record.id, NOW)
    assert first is not None and stale is not None
    first.failures = 2
    await store.throttles.save(first)
    with pytest.raises(StaleVersionError):
        await store.throttles.save(stale)
    assert await store.throttles.get(record.id, NOW + 100) is None
    await store.throttles.add(record.model_copy(update={"expires_at": NOW + 300}), NOW + 100)
    again = await store.throttles.get(record.id, NOW + 100)  # in place of the expired one
    assert again is not None and again.failures == 1
    await store.throttles.delete(record.id)
    assert await store.throttles.get(record.id, NOW) is None



async def test_throttles_delete_at_a_version_list_and_clear_an_account(store: Store) -> None:
    keys = ["password:account:login:alice", "password:account_ip:192.0.2.7:login:alice",
            "totp:account:u1"]
    for key in keys:
        await store.throttles.add(ThrottleRecord(id=key, account="u1", expires_at=NOW + 100), NOW)
    others = [ThrottleRecord(id="password:ip:192.0.2.7", expires_at=NOW + 100),
              ThrottleRecord(id="password:account:login:bob", account="u2", expires_at=NOW + 100)]
    for other in others:
        await store.throttles.add(other, NOW)
    stored = await store.throttles.get(keys[0], NOW)
    assert stored is not None
    assert not await store.throttles.delete(keys[0], stored.version + 1)
    assert sorted(k.id for k in await store.throttles.for_account("u1", NOW)) == sorted(keys)
    assert await store.throttles.for_account("u1", NOW + 100) == []
    assert await store.throttles.clear_account("u1") == len(keys)
    assert [await store.throttles.get(key, NOW) for key in keys] == [None] * len(keys)
    for other in others:
        assert await store.throttles.get(other.id, NOW) is not None
    assert await store.throttles.delete(others[0].id, 0)


# audit events


def audit_event(
    event_id: str, at: float, subject: str = "u1", expires_at: float = NOW + 600
) -> AuditRecord:
    return AuditRecord(id=event_id, at=at, kind="sign_in", subject=subject, client_id="app",
                       address="192.0.2.1", request_id="r1",
                       details={"amr": ["pwd"], "a.b": {"$c": 1}}, expires_at=expires_at)


async def test_audit_events_of_a_subject_newest_first_limited_and_until_they_expire(
    store: Store,
) -> None:
    for n, at in enumerate([NOW + 5, NOW + 1, NOW + 9, NOW + 3]):
        await store.audit.add(audit_event(f"e{n}", at))
    await store.audit.add(audit_event("other", NOW + 7, subject="u2"))
    await store.audit.add(audit_event("short", NOW + 8, expires_at=NOW + 10))
    found = await store.audit.for_subject("u1", NOW)
    assert [e.id for e in found] == ["e2", "short", "e0", "e3", "e1"]
    assert found[0] == audit_event("e2", NOW + 9)
    assert [e.id for e in await store.audit.for_subject("u1", NOW, limit=2)] == ["e2", "short"]
    later = await store.audit.for_subject("u1", NOW + 10)
    assert [e.id for e in later] == ["e2", "e0", "e3", "e1"]
    assert await store.audit.for_subject("nobody", NOW) == []
    with pytest.raises(DuplicateError):
        await store.audit.add(audit_event("e0", NOW))


async def test_audit_events_are_purged_once_their_retention_ends(store: Store) -> None:
    assert isinstance(store, DocumentStore)
    await store.audit.add(audit_event("old", NOW, expires_at=NOW + 10))
    await store.audit.add(audit_event("new", NOW, expires_at=NOW + 100))
    await store.purge_expired(NOW + 10)
    assert await store.collections["audit_events"].get("old") is None
    assert await store.collections["audit_events"].get("new") is not None


async def test_ping_answers_while_the_store_is_open(store: Store) -> None:
    await store.ping()


# pages for operators (the admin API)


async def test_users_are_searched_by_login_email_or_name_newest_first_in_pages(
    store: Store,
) -> None:
    people = [
        UserRecord(id="u1", username="alice", email="alice@example.com", created_at=NOW + 1,
                   claims={"name": "Alice Liddell"}),
        UserRecord(id="u2", username="bob", email="bob@wonder.example", created_at=NOW + 2,
                   claims={"name": "Bob Dodgson"}),
        UserRecord(id="u3", username="carol_x", email=None, created_at=NOW + 3),
        UserRecord(id="u4", username="dave", email="d@x.example", created_at=NOW + 3,
                   claims={"name": "Dave Wonder"}),
    ]
    for person in people:
        await store.users.add(person)
    assert [u.id for u in await store.users.search(None, 10)] == ["u4", "u3", "u2", "u1"]
    assert [u.id for u in await store.users.search("ALI", 10)] == ["u1"]  # username and name
    assert [u.id for u in await store.users.search("wonder", 10)] == ["u4", "u2"]  # name, email
    assert [u.id for u in await store.users.search("dodgson", 10)] == ["u2"]
    # LIKE and regular-expression characters are plain text
    assert [u.id for u in await store.users.search("_", 10)] == ["u3"]
    assert await store.users.search("%", 10) == []
    assert await store.users.search(".*", 10) == []
    first = await store.users.search(None, 2)
    assert [u.id for u in first] == ["u4", "u3"]  # the same time: the higher id first
    second = await store.users.search(None, 2, after=store.users.cursor(first[-1]))
    assert [u.id for u in second] == ["u2", "u1"]
    assert await store.users.search(None, 2, after=store.users.cursor(second[-1])) == []
    assert await store.users.delete("u3")
    assert not await store.users.delete("u3")
    assert await store.users.get("u3") is None


async def test_a_users_grants_come_newest_first_in_pages_revoked_ones_too(store: Store) -> None:
    for n, expires in ((1, NOW + 3600), (2, NOW + 3600), (3, NOW - 1), (4, NOW + 3600)):
        await store.grants.add(grant(f"g{n}", expires).model_copy(update={"created_at": NOW + n}))
    await store.grants.add(grant("other").model_copy(update={"subject": "someone-else"}))
    await store.grants.revoke("g2")
    first = await store.grants.page_for_subject("u1", NOW, 2)
    assert [g.id for g in first] == ["g4", "g2"] and first[1].revoked  # g3 has expired
    rest = await store.grants.page_for_subject("u1", NOW, 2, store.grants.cursor(first[-1]))
    assert [g.id for g in rest] == ["g1"]


async def test_clients_come_by_id_in_pages(store: Store) -> None:
    for client_id in ("c", "a", "d", "b", "e"):
        await store.clients.put(ClientRecord(client_id=client_id))
    first = await store.clients.page(2)
    assert [c.client_id for c in first] == ["a", "b"]
    second = await store.clients.page(2, store.clients.cursor(first[-1]))
    assert [c.client_id for c in second] == ["c", "d"]
    last = await store.clients.page(2, store.clients.cursor(second[-1]))
    assert [c.client_id for c in last] == ["e"]


async def test_a_page_cursor_holds_a_plain_value_never_a_query(store: Store) -> None:
    await store.users.add(user("u1", "alice"))
    for bad in ({"$gt": 0}, ["x"], None, True):
        with pytest.raises((ValueError, TypeError)):
            await store.users.search(None, 10, after=(bad, "u1"))


async def test_audit_events_are_filtered_by_subject_kind_client_and_time_in_pages(
    store: Store,
) -> None:
    events = [
        AuditRecord(id="a", at=NOW + 1, kind="sign_in", subject="u1", client_id="app",
                    expires_at=NOW + 600),
        AuditRecord(id="b", at=NOW + 2, kind="sign_in_failed", subject="u1", client_id="app",
                    expires_at=NOW + 600),
        AuditRecord(id="c", at=NOW + 3, kind="sign_in", subject="u2", client_id="other",
                    expires_at=NOW + 600),
        AuditRecord(id="d", at=NOW + 4, kind="sign_in", subject="u1", client_id="other",
                    expires_at=NOW + 5),
    ]
    for event in events:
        await store.audit.add(event)
    search = store.audit.search
    assert [e.id for e in await search(NOW, 10)] == ["d", "c", "b", "a"]
    assert [e.id for e in await search(NOW + 5, 10)] == ["c", "b", "a"]  # d has expired
    assert [e.id for e in await search(NOW, 10, {"subject": "u1"})] == ["d", "b", "a"]
    assert [e.id for e in await search(NOW, 10, {"kind": "sign_in"})] == ["d", "c", "a"]
    assert [e.id for e in await search(NOW, 10, {"client_id": "other", "subject": "u1"})] == ["d"]
    assert [e.id for e in await search(NOW, 10, since=NOW + 2, until=NOW + 4)] == ["c", "b"]
    page = await search(NOW, 2)
    assert [e.id for e in await search(NOW, 2, after=store.audit.cursor(page[-1]))] == ["b", "a"]
    with pytest.raises(ValueError):
        await search(NOW, 10, {"details": "x"})


async def test_consents_and_standing_grants_of_a_user_and_of_a_client(store: Store) -> None:
    await store.consents.put(ConsentRecord(id=ConsentRecord.key("b-app", "u1"), subject="u1",
                                           client_id="b-app", scopes=["openid"], updated_at=NOW))
    await store.consents.put(ConsentRecord(id=ConsentRecord.key("a-app", "u1"), subject="u1",
                                           client_id="a-app", scopes=["openid"], updated_at=NOW))
    await store.consents.put(ConsentRecord(id=ConsentRecord.key("a-app", "u2"), subject="u2",
                                           client_id="a-app", scopes=["openid"], updated_at=NOW))
    assert [c.client_id for c in await store.consents.for_subject("u1")] == ["a-app", "b-app"]
    await store.grants.add(grant("g-1"))
    await store.grants.add(grant("g-2"))
    await store.grants.add(grant("g-old", expires_at=NOW - 1))
    await store.grants.revoke("g-2")
    assert [g.id for g in await store.grants.for_subject("u1", NOW)] == ["g-1"]
    assert [g.id for g in await store.grants.for_client("app", NOW)] == ["g-1"]
    assert await store.grants.for_subject("u2", NOW) == []


async def test_run_logs_of_a_flow_latest_first_until_they_expire(store: Store) -> None:
    for n, flow in enumerate(["default", "default", "mfa", "default"]):
        await store.run_logs.add(RunLogRecord(
            id=f"r{n}", flow=flow, client_id="app", subject="u1", state="done",
            started_at=NOW, finished_at=NOW + n, log=[{"event": "start", "flow": flow}],
            expires_at=NOW + 10 + n,
        ))
    assert [r.id for r in await store.run_logs.recent("default", NOW, 10)] == ["r3", "r1", "r0"]
    first = await store.run_logs.recent("default", NOW, 1)
    after = store.run_logs.cursor(first[0])
    assert [r.id for r in await store.run_logs.recent("default", NOW, 5, after)] == ["r1", "r0"]
    assert [r.id for r in await store.run_logs.recent("default", NOW + 10, 10)] == ["r3", "r1"]
    found = await store.run_logs.get("r2", NOW)
    assert found is not None and found.log == [{"event": "start", "flow": "mfa"}]
    assert await store.run_logs.get("r2", NOW + 12) is None
