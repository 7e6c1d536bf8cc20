"""Client authentication at the token endpoint (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import quote_plus

import pytest
from quart import Quart, request
from werkzeug.datastructures import MultiDict

from oidc.client_auth import authenticate_client, secret_digest
from oidc.errors import InvalidClientError, InvalidRequestError
from store import Store, open_store
from store.records import ClientRecord

SECRET = "s3cret:with+special&chars/0123456789abcdef"


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    s = await open_store("sqlite://:memory:")
    await s.clients.put(ClientRecord(client_id="rp:1", client_secret_sha256=secret_digest(SECRET),
                                     redirect_uris=["https://x/cb"]))
    await s.clients.put(ClientRecord(client_id="post", client_secret_sha256=secret_digest(SECRET),
                                     redirect_uris=["https://x/cb"],
                                     token_endpoint_auth_method="client_secret_post"))
    await s.clients.put(ClientRecord(client_id="spa", redirect_uris=["https://x/cb"],
                                     token_endpoint_auth_method="none"))
    yield s
    await s.close()


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def auth(store: Store, form: dict[str, str], header: str | None = None) -> str:
    app = Quart(__name__)
    headers = {"Authorization": header} if header else {}
    async with app.test_request_context("/token", method="POST", headers=headers):
        client = await authenticate_client(request, MultiDict(form), store)
    return client.client_id


async def test_basic_credentials_are_form_urlencoded_before_base64(store: Store) -> None:
    assert await auth(store, {}, basic("rp:1", SECRET)) == "rp:1"


async def test_wrong_secret_unknown_client_and_wrong_method_are_invalid_client(store: Store) -> None:
    attempts = [
        ({}, basic("rp:1", SECRET + "x")),
        ({}, basic("nobody", SECRET)),
        ({}, "Basic !!!notbase64"),
        ({"client_id": "rp:1", "client_secret": SECRET}, None),  # registered for basic, not post
        ({"client_id": "post"}, None),  # a confidential client cannot skip its secret
        ({"client_id": "spa", "client_secret": "anything"}, None),
    ]
    for form, header in attempts:
        with pytest.raises(InvalidClientError) as caught:
            await auth(store, form, header)
        assert caught.value.status_code == 401


async def test_post_and_none(store: Store) -> None:
    assert await auth(store, {"client_id": "post", "client_secret": SECRET}) == "post"
    assert await auth(store, {"client_id": "spa"}) == "spa"


async def test_two_methods_at_once_are_refused(store: Store) -> None:
    with pytest.raises(InvalidRequestError):
        await auth(store, {"client_secret": SECRET}, basic("rp:1", SECRET))
