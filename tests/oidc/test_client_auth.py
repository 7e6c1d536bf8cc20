"""Client authentication at the token endpoint (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import AsyncIterator
from urllib.parse import quote_plus

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from quart import Quart, request
from werkzeug.datastructures import MultiDict

from core import OutboundHttp
from oidc.client_assertion import ASSERTION_TYPE, ClientAssertions
from oidc.client_auth import authenticate_client, secret_digest
from oidc.errors import InvalidClientError, InvalidRequestError
from store import Store, open_store
from store.records import ClientRecord

SECRET = "s3cret:with+special&chars/0123456789abcdef"
ISSUER = "https://op.example"
CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "client-key"}, private=True)


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
    await s.clients.put(ClientRecord(client_id="signer", redirect_uris=["https://x/cb"],
                                     token_endpoint_auth_method="private_key_jwt",
                                     jwks={"keys": [CLIENT_KEY.as_dict(private=False)]}))
    yield s
    await s.close()


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def auth(store: Store, form: dict[str, str], header: str | None = None) -> str:
    app = Quart(__name__)
    headers = {"Authorization": header} if header else {}
    assertions = ClientAssertions(ISSUER, store, OutboundHttp(), time.time)
    async with app.test_request_context("/token", method="POST", headers=headers):
        client = await authenticate_client(
            request.headers.get("Authorization"), request.path, MultiDict(form), assertions
        )
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


def assertion(key: RSAKey | OctKey = CLIENT_KEY, alg: str = "RS256", **overrides: object) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": "signer", "sub": "signer", "aud": f"{ISSUER}/token", "iat": now,
              "exp": now + 60, "jti": secrets.token_urlsafe(8), **overrides}
    token = jwt.encode({"alg": alg, "kid": "client-key"}, claims, key, algorithms=[alg])
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token}


async def test_private_key_jwt_works_once(store: Store) -> None:
    form = assertion()
    assert await auth(store, form) == "signer"
    with pytest.raises(InvalidClientError, match="already used"):
        await auth(store, form)


# Times are offsets from the moment the test runs, not from collection: the
# suite runs for minutes, and an nbf ten minutes ahead at collection is past by then.
@pytest.mark.parametrize(("overrides", "offsets", "message"), [
    ({"aud": "https://elsewhere.example/token"}, {}, "not meant for this server"),
    ({"iss": "spa"}, {}, "client authentication failed"),
    ({"sub": "someone"}, {}, "iss and sub"),
    ({}, {"exp": 3600}, "lives too long"),
    ({}, {"exp": -120}, "expired"),
    ({"jti": ""}, {}, "jti"),
    ({}, {"nbf": 600}, "not valid yet"),
])
async def test_private_key_jwt_claims_are_checked(
        store: Store, overrides: dict[str, object], offsets: dict[str, int], message: str) -> None:
    now = int(time.time())
    timed = {claim: now + offset for claim, offset in offsets.items()}
    with pytest.raises(InvalidClientError, match=message):
        await auth(store, assertion(**overrides, **timed))


async def test_private_key_jwt_signature_and_type(store: Store) -> None:
    other_key = RSAKey.generate_key(2048, parameters={"kid": "client-key"}, private=True)
    for form in (assertion(other_key), assertion(OctKey.generate_key(256), alg="HS256")):
        with pytest.raises(InvalidClientError, match="signature"):
            await auth(store, form)
    with pytest.raises(InvalidRequestError):
        await auth(store, {**assertion(), "client_assertion_type": "something-else"})
    with pytest.raises(InvalidClientError):
        await auth(store, {**assertion(), "client_id": "spa"})


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
async def test_every_advertised_assertion_algorithm(store: Store, alg: str) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "client-key"}, private=True) \
        if alg == "ES256" else RSAKey.generate_key(2048, parameters={"kid": "client-key"}, private=True)
    await store.clients.put(ClientRecord(client_id="signer", redirect_uris=["https://x/cb"],
                                         token_endpoint_auth_method="private_key_jwt",
                                         jwks={"keys": [key.as_dict(private=False)]}))
    assert await auth(store, assertion(key, alg=alg)) == "signer"  # type: ignore[arg-type]
