"""Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from urllib.parse import unquote_plus

from quart import Request
from werkzeug.datastructures import MultiDict

from oidc.errors import InvalidClientError, InvalidRequestError
from store.records import ClientRecord
from store.repositories import Store

AUTH_METHODS_SUPPORTED = ["client_secret_basic", "client_secret_post", "none"]
CONFIDENTIAL_AUTH_METHODS = [m for m in AUTH_METHODS_SUPPORTED if m != "none"]


def secret_digest(secret: str) -> str:
    """Client secrets are high-entropy, so a plain SHA-256 digest is the right thing to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # non-ASCII input raises a plain ValueError
        raise _invalid_client("malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _invalid_client("malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _invalid_client(description: str) -> InvalidClientError:
    # 401 with WWW-Authenticate, as §5.2 requires when the client tried the Authorization header.
    return InvalidClientError(description, status_code=401)


async def authenticate_client(
    request: Request, form: MultiDict[str, str], store: Store
) -> ClientRecord:
    """The client that authenticated this request, or `invalid_client`."""
    basic = _basic_credentials(request)
    posted_secret = form.get("client_secret")
    if basic and (posted_secret is not None or form.get("client_id") not in (None, basic[0])):
        raise InvalidRequestError("use only one client authentication method")
    if basic:
        method, (client_id, secret) = "client_secret_basic", basic
    elif posted_secret is not None:
        method, client_id, secret = "client_secret_post", form.get("client_id", ""), posted_secret
    else:
        method, client_id, secret = "none", form.get("client_id", ""), ""
    client = await store.clients.get(client_id) if client_id else None
    if client is None or client.token_endpoint_auth_method != method:
        raise _invalid_client("client authentication failed")
    if method != "none" and not (
        client.client_secret_sha256
        and hmac.compare_digest(secret_digest(secret), client.client_secret_sha256)
    ):
        raise _invalid_client("client authentication failed")
    return client
