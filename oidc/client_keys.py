"""A client's public keys: those it registered (`jwks`), or the set at its `jwks_uri`, fetched
through the guarded outbound helper (never a loopback or private address). Client assertions
(private_key_jwt) and signed request objects (JAR) are checked against them."""

from __future__ import annotations

import json

import httpx2
from joserfc.jwk import KeySet

from core import OutboundHttp, OutboundRefused
from store import ClientRecord


class ClientKeysUnavailable(Exception):
    """The client registered no keys, or its `jwks_uri` could not be read as a JWK Set."""


def has_keys(client: ClientRecord) -> bool:
    return client.jwks is not None or client.jwks_uri is not None


async def client_keys(client: ClientRecord, outbound: OutboundHttp) -> KeySet:
    """The client's JWK Set; `ClientKeysUnavailable` when there is none to be had."""
    if client.jwks is not None:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    if client.jwks_uri is None:
        raise ClientKeysUnavailable("the client registered no keys")
    try:
        answer = await outbound.request("GET", client.jwks_uri)
        return KeySet.import_key_set(json.loads(answer.body))
    except (OutboundRefused, httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise ClientKeysUnavailable("the client's jwks_uri could not be read") from exc
