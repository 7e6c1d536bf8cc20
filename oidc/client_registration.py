"""Dynamic Client Registration (RFC 7591) and its management (RFC 7592).

`registration: open` lets any client register, within what `open_registration` allows (by default
the code flow with refresh tokens, and no client_credentials); `registration: token` asks for an
initial access token, which an operator mints with `gatehouse clients token`, and with which a
registration may set any metadata. Metadata is checked as strictly as for clients in the config
(oidc/client_metadata.py), plus what a stranger's registration needs: redirect URIs in https
(http only on loopback, for native apps on the same machine), and https for the logo, policy and
terms URIs. Secrets are generated here, never chosen by the client, and stored as digests.

A registered client gets a `registration_access_token` and its `registration_client_uri`, with
which it reads, updates and deletes itself. Clients from the config have no such token: the API
cannot touch them. Other processes may keep a client they read for `CLIENT_CACHE_SECONDS`.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from quart import Blueprint, Response, request

from core import digest
from observe import audit
from oidc.client_auth import secret_digest
from oidc.client_metadata import ClientMetadata
from oidc.errors import InvalidTokenError, OAuth2Error, printable
from oidc.http import NO_STORE, JsonAnswer, json_response, oauth_error_response
from oidc.provider import Provider, current_provider
from store import ClientRecord

REGISTRATION_PATH = "/register"
MAX_METADATA_BYTES = 32 * 1024
SECRET_METHODS = ("client_secret_basic", "client_secret_post")

blueprint = Blueprint("client_registration", __name__)


class InvalidClientMetadataError(OAuth2Error):  # type: ignore[misc]
    error = "invalid_client_metadata"  # RFC 7591 §3.2.2


class InvalidRedirectUriError(OAuth2Error):  # type: ignore[misc]
    error = "invalid_redirect_uri"


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_metadata(
    provider: Provider, body: object, grant_types: set[str] | None
) -> ClientMetadata:
    """The metadata of a registration, or the RFC 7591 §3.2.2 error that refuses it;
    `grant_types` are those it may ask for (None: any)."""
    if not isinstance(body, dict):
        raise InvalidClientMetadataError("the body must be a JSON object")
    try:
        metadata = ClientMetadata.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "metadata"
        error = InvalidRedirectUriError if where.startswith("redirect_uris") else (
            InvalidClientMetadataError
        )
        raise error(printable(f"{where}: {problem['msg']}", 200)) from exc
    for uri in metadata.redirect_uris:
        parts = urlsplit(uri)
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname)):
            raise InvalidRedirectUriError("redirect URIs must be https (http only on loopback)")
    for name in ("logo_uri", "policy_uri", "tos_uri", "jwks_uri", "backchannel_logout_uri"):
        value = getattr(metadata, name)
        if value is not None and urlsplit(value).scheme != "https":
            raise InvalidClientMetadataError(f"{name} must be https")
    if grant_types is not None and not set(metadata.grant_types) <= grant_types:
        raise InvalidClientMetadataError(
            "these grant types need an initial access token: "
            + " ".join(sorted(set(metadata.grant_types) - grant_types))
        )
    return metadata


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return json_response(JsonAnswer(body, status, dict(NO_STORE)))


def _error(error: OAuth2Error) -> Response:
    response = oauth_error_response(error)
    if isinstance(error, InvalidTokenError):  # RFC 7592 §2, RFC 6750 §3
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _bearer() -> str | None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _with_initial_token(provider: Provider) -> bool:
    """Whether the request carries a valid initial access token (which it uses up); raises
    when one is needed or a bad one was sent."""
    token = _bearer()
    if token is None:
        if provider.registration == "token":
            raise InvalidTokenError("an initial access token is required")
        return False
    used = await provider.store.initial_access_tokens.redeem(digest(token), provider.clock(), "")
    if used is None or not used.first:
        raise InvalidTokenError("the initial access token is unknown, expired or used")
    return True


def _record(
    metadata: ClientMetadata, client_id: str, secret: str | None, token: str, now: float
) -> ClientRecord:
    return ClientRecord(
        **metadata.model_dump(), client_id=client_id,
        client_secret_sha256=secret_digest(secret) if secret else None,
        registration_token_sha256=digest(token), registered_at=now, source="registration",
    )


def _public(provider: Provider, client: ClientRecord) -> dict[str, Any]:
    """What RFC 7591 §3.2.1 and RFC 7592 §3 answer: the metadata, the id, how to manage it."""
    metadata = ClientMetadata.model_validate(client.model_dump()).model_dump(exclude_none=True)
    return {
        **metadata, "client_id": client.client_id,
        "client_id_issued_at": int(client.registered_at or 0),
        "registration_client_uri": provider.url(f"{REGISTRATION_PATH}/{client.client_id}"),
    }


@blueprint.post(REGISTRATION_PATH)
async def register() -> Response:
    provider = current_provider()
    if provider.registration == "off":
        return _answer({"error": "invalid_request", "error_description": "registration is off"}, 404)
    try:
        with_token = await _with_initial_token(provider)
        if (request.content_length or 0) > MAX_METADATA_BYTES:
            raise InvalidClientMetadataError("the metadata is too large")
        allowed = None if with_token else set(provider.open_registration_grant_types)
        metadata = checked_metadata(provider, await request.get_json(silent=True), allowed)
    except OAuth2Error as error:
        return _error(error)
    now = provider.clock()
    client_id, token = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    secret = secrets.token_urlsafe(32) if metadata.token_endpoint_auth_method in SECRET_METHODS else None
    client = _record(metadata, client_id, secret, token, now)
    await provider.store.clients.put(client)
    await audit(provider.store, "client_registered", client_id=client_id,
                with_initial_access_token=with_token, grant_types=client.grant_types)
    body = {**_public(provider, client), "registration_access_token": token}
    if secret is not None:
        body |= {"client_secret": secret, "client_secret_expires_at": 0}
    return _answer(body, 201)


async def _managed(provider: Provider, client_id: str) -> ClientRecord:
    """RFC 7592 §2: the registered client the registration access token manages."""
    token = _bearer()
    client = await provider.store.clients.get(client_id)
    if token is None or client is None or client.registration_token_sha256 is None or not (
        hmac.compare_digest(digest(token), client.registration_token_sha256)
    ):
        raise InvalidTokenError("the registration access token is not valid for this client")
    return client


@blueprint.route(f"{REGISTRATION_PATH}/<client_id>", methods=["GET", "PUT", "DELETE"])
async def manage(client_id: str) -> Response:
    provider = current_provider()
    try:
        client = await _managed(provider, client_id)
        if request.method == "GET":
            return _answer(_public(provider, client))
        if request.method == "DELETE":
            await provider.store.clients.delete(client.client_id)
            await audit(provider.store, "client_deleted", client_id=client.client_id)
            return Response(status=204, headers=NO_STORE)
        body = await request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("client_id") != client.client_id:
            raise InvalidClientMetadataError("the body must name the client_id it updates")
        if "client_secret" in body and not (client.client_secret_sha256 and hmac.compare_digest(
            secret_digest(str(body["client_secret"])), client.client_secret_sha256
        )):
            raise InvalidClientMetadataError("client_secret does not match")  # RFC 7592 §2.2
        # An update may keep its grant types, or take those open to everyone; no more.
        allowed = {*client.grant_types, *provider.open_registration_grant_types}
        metadata = checked_metadata(provider, body, allowed)
    except OAuth2Error as error:
        return _error(error)
    secret = None
    keeps_secret = metadata.token_endpoint_auth_method in SECRET_METHODS
    if keeps_secret and client.client_secret_sha256 is None:
        secret = secrets.token_urlsafe(32)  # a public client became confidential
    updated = client.model_copy(update={
        **metadata.model_dump(),
        "client_secret_sha256": (secret_digest(secret) if secret else client.client_secret_sha256)
        if keeps_secret else None,
    })
    await provider.store.clients.put(updated)
    await audit(provider.store, "client_updated", client_id=client.client_id,
                grant_types=updated.grant_types)
    answer = _public(provider, updated)
    return _answer(answer | ({"client_secret": secret, "client_secret_expires_at": 0} if secret else {}))
