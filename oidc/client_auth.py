"""Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import unquote_plus

from werkzeug.datastructures import MultiDict

from oidc.client_assertion import ASSERTION_TYPE, ClientAssertions, asserted_client_id
from oidc.errors import ClientAuthenticationFailed, InvalidRequestError
from oidc.http import BackChannelRequest
from store import ClientRecord

AUTH_METHODS_SUPPORTED = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = [m for m in AUTH_METHODS_SUPPORTED if m != "none"]


def secret_digest(secret: str) -> str:
    """Client secrets are high-entropy, so a plain SHA-256 digest is the right thing to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # non-ASCII input raises a plain ValueError
        raise ClientAuthenticationFailed("malformed Basic credentials", basic=True) from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise ClientAuthenticationFailed("malformed Basic credentials", basic=True)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


async def authenticate_client(
    authorization: str | None, path: str, form: MultiDict[str, str], assertions: ClientAssertions
) -> ClientRecord:
    """The client that authenticated a request to the endpoint at `path` (its `Authorization`
    header and form), or `invalid_client`."""
    credentials = _basic_credentials(authorization)
    basic = credentials is not None
    posted_secret, assertion = form.get("client_secret"), form.get("client_assertion")
    if sum(x is not None for x in (credentials, posted_secret, assertion)) > 1:
        raise InvalidRequestError("use only one client authentication method")
    secret = ""
    if credentials:
        method, (client_id, secret) = "client_secret_basic", credentials
    elif posted_secret is not None:
        method, client_id, secret = "client_secret_post", form.get("client_id", ""), posted_secret
    elif assertion is not None:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise InvalidRequestError("client_assertion_type must be jwt-bearer (RFC 7523)")
        method, client_id = "private_key_jwt", asserted_client_id(assertion)
    else:
        method, client_id = "none", form.get("client_id", "")
    if form.get("client_id") not in (None, client_id):
        raise ClientAuthenticationFailed("client_id does not match the credentials", basic)
    client = await assertions.store.clients.get(client_id) if client_id else None
    if client is None or client.token_endpoint_auth_method != method:
        raise ClientAuthenticationFailed("client authentication failed", basic)
    if method == "private_key_jwt":
        assert assertion is not None
        await assertions.verify(client, assertion, assertions.issuer + path)
    elif method != "none" and not (
        client.client_secret_sha256
        and hmac.compare_digest(secret_digest(secret), client.client_secret_sha256)
    ):
        raise ClientAuthenticationFailed("client authentication failed", basic)
    return client


async def authenticated_client(
    request: BackChannelRequest, assertions: ClientAssertions
) -> tuple[ClientRecord, MultiDict[str, str]]:
    """The client that authenticated a back-channel request, and the request's form."""
    form = request.form()
    return await authenticate_client(request.authorization, request.path, form, assertions), form
