"""What only the MongoDB store has: indexes (unique, TTL, and one behind every hot query, checked
with `explain`), idempotent start-up, write concern, and a clear error when the server is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from store import StoreUnavailableError, open_store
from store.mongodb import MongoStore
from tests.mongodb_server import MongoServer, mongo_backends, start_secantusdb
from tests.ports import free_port
from tests.store.test_store_contract import NOW, code, credential, grant, run, user


@pytest.fixture(params=mongo_backends())
def mongo_server(request: pytest.FixtureRequest) -> MongoServer:
    server: MongoServer = request.getfixturevalue(request.param)
    return server


@pytest.fixture
async def mongo_store(mongo_server: MongoServer) -> AsyncIterator[MongoStore]:
    url = mongo_server.url()
    store = await open_store(url)
    assert isinstance(store, MongoStore)
    try:
        yield store
    finally:
        await store.close()
        mongo_server.drop(url)


def plan_stages(plan: dict[str, Any]) -> set[str]:
    stages = {plan.get("stage", "")}
    for key in ("inputStage", "queryPlan"):
        if key in plan:
            stages |= plan_stages(plan[key])
    for child in plan.get("inputStages", []):
        stages |= plan_stages(child)
    return stages


async def stages(store: MongoStore, collection: str, query: dict[str, Any]) -> set[str]:
    cursor = store.database[collection].find(query)
    if "_id" in query:
        cursor = cursor.hint("_id_")  # as the store does
    explained = await cursor.explain()
    return plan_stages(explained["queryPlanner"]["winningPlan"])


async def test_every_hot_query_uses_an_index(mongo_store: MongoStore) -> None:
    await mongo_store.users.add(user("u1", "alice", "alice@example.com"))
    await mongo_store.credentials.add(credential("c1"))
    await mongo_store.grants.add(grant())
    await mongo_store.codes.add(code())
    await mongo_store.runs.add(run())
    hot = [
        ("users", {"_lc_username": "alice"}),  # sign-in: identify by username
        ("users", {"_lc_email": "alice@example.com"}),  # ... or by email
        ("users", {"_id": "u1"}),
        ("credentials", {"user_id": "u1"}),  # second factors of the user
        ("linked_identities", {"user_id": "u1"}),  # the account page's linked accounts
        ("grants", {"sid": "sid-1"}),  # logout: the grants of a session
        ("sessions", {"subject": "u1"}),  # the account page's sessions
        ("audit_events", {"subject": "u1"}),  # a user's audit trail
        ("codes", {"_id": "code-1", "version": 0, "expires_at": {"$gt": NOW},
                   "client_id": "app"}),  # token endpoint: redeem
        ("flow_runs", {"_id": "run-1", "expires_at": {"$gt": NOW}}),  # every sign-in page
    ]
    for collection, query in hot:
        used = await stages(mongo_store, collection, query)
        assert "COLLSCAN" not in used, (collection, query, used)
        assert used & {"IXSCAN", "IDHACK", "EXPRESS_IXSCAN", "EXPRESS_CLUSTERED_IXSCAN"}, used


async def test_unique_and_ttl_indexes_exist(mongo_store: MongoStore) -> None:
    users = await mongo_store.database["users"].index_information()
    assert users["unique_username"]["unique"] and users["unique_email"]["unique"]
    for collection in ("flow_runs", "sessions", "codes", "refresh_tokens", "grants",
                       "access_tokens", "replay_cache", "throttles"):
        ttl = (await mongo_store.database[collection].index_information())["ttl"]
        assert ttl["key"] == [("_expire_at", 1)] and ttl["expireAfterSeconds"] == 0, collection


async def test_expiring_documents_carry_their_expiry_as_a_date(mongo_store: MongoStore) -> None:
    await mongo_store.codes.add(code(expires_at=NOW + 60))
    stored = await mongo_store.database["codes"].find_one({"_id": "code-1"})
    assert stored is not None and stored["_expire_at"].timestamp() == NOW + 60


async def test_opening_twice_is_idempotent_and_keeps_the_data(mongo_server: MongoServer) -> None:
    url = mongo_server.url()
    try:
        first = await open_store(url)
        await first.users.add(user("u1", "alice"))
        await first.close()
        second = await open_store(url)
        assert await second.users.find_by_login("ALICE") == user("u1", "alice")
        await second.close()
    finally:
        mongo_server.drop(url)


async def test_writes_default_to_majority_and_the_url_can_change_it(
    mongo_server: MongoServer,
) -> None:
    url = mongo_server.url()
    try:
        store = await open_store(url)
        assert isinstance(store, MongoStore)
        assert store.client.write_concern.document == {"w": "majority"}
        await store.close()
        store = await open_store(url + "?w=1&readConcernLevel=local")
        assert isinstance(store, MongoStore)
        assert store.client.write_concern.document == {"w": 1}
        assert store.client.read_concern.level == "local"
        await store.close()
    finally:
        mongo_server.drop(url)


async def test_an_unreachable_server_is_a_store_unavailable_error() -> None:
    with pytest.raises(StoreUnavailableError):
        await open_store(f"mongodb://127.0.0.1:{free_port()}/gh?serverSelectionTimeoutMS=300")


async def test_a_lost_server_is_unavailable_then_found_again_without_reopening(
    tmp_path: Path,
) -> None:
    log = tmp_path / "secantusd.log"
    server = start_secantusdb(log)
    port = int(server.base_url.rsplit(":", 1)[1])
    store = await open_store(server.url("gh") + "?serverSelectionTimeoutMS=500")
    try:
        await store.users.add(user("u1", "alice"))
        assert server.process is not None
        server.process.kill()  # as kill -9, or a network cut
        server.process.wait()
        with pytest.raises(StoreUnavailableError):
            await store.users.get("u1")
        with pytest.raises(StoreUnavailableError):
            await store.users.add(user("u2", "bob"))
        server = start_secantusdb(log, port)  # back (empty: its storage was in memory)
        await store.users.add(user("u2", "bob"))
        assert await store.users.get("u2") == user("u2", "bob")
    finally:
        await store.close()
        server.stop()


async def test_driver_types_stay_inside_the_store(mongo_store: MongoStore) -> None:
    await mongo_store.users.add(user("u1", "alice", "alice@example.com"))
    found = await mongo_store.users.get("u1")
    assert found is not None
    assert all(not isinstance(v, AsyncMongoClient) for v in found.model_dump().values())
    assert "_lc_username" not in found.model_dump() and "_id" not in found.model_dump()


async def test_a_query_operator_never_reaches_a_filter(mongo_store: MongoStore) -> None:
    await mongo_store.users.add(user("u1", "alice"))
    for hostile in ({"$ne": None}, {"$gt": ""}, ["u1"]):
        with pytest.raises(TypeError):
            await mongo_store.users.get(hostile)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await mongo_store.users.find_by_login(hostile)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await mongo_store.codes.redeem(hostile, NOW, "app")  # type: ignore[arg-type]
