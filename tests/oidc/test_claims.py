"""Which user claims are released: those of the asked scopes and of the claims asked by name,
within the scopes the client is registered for (docs/conformance.md, "Claims")."""

from __future__ import annotations

from oidc.claims import user_claims
from store.records import ClientRecord, UserRecord

ALICE = UserRecord(id="u1", username="alice", email="alice@example.com", email_verified=True,
                   claims={"name": "Alice Example"}, created_at=0)
CLIENT = ClientRecord(client_id="rp", redirect_uris=["https://rp.example/cb"], scope="openid profile email")


def test_scopes_and_claims_asked_by_name_are_released() -> None:
    assert user_claims(ALICE, CLIENT, ["openid", "email"], ["name"]) == {
        "sub": "u1", "email": "alice@example.com", "email_verified": True, "name": "Alice Example"}


def test_nothing_beyond_the_scopes_the_client_is_registered_for_now() -> None:
    """A token granted before the client's scope was narrowed releases no more than it allows."""
    narrowed = CLIENT.model_copy(update={"scope": "openid"})
    assert user_claims(ALICE, narrowed, ["openid", "email", "profile"], ["name", "email"]) == {"sub": "u1"}


def test_sub_asked_by_name_is_the_users_id_whatever_the_record_holds() -> None:
    odd = ALICE.model_copy(update={"claims": {"sub": "someone-else"}})
    assert user_claims(odd, CLIENT, ["openid"], ["sub"]) == {"sub": "u1"}
