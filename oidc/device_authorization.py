"""The Device Authorization Grant (RFC 8628): sign-in for devices with no browser or keyboard to
speak of (a TV, a terminal, a printer).

The device asks `/device_authorization` for a device code and a user code, shows the person the
user code and where to type it (`/device`, oidc/device_verification.py), and polls the token
endpoint with the device code until the person has signed in and allowed it there. Polling
answers `authorization_pending` until then, `slow_down` to a device that polls faster than its
interval (which grows by five seconds each time), `access_denied` when the person refused, and
`expired_token` once the codes have expired. The first poll after the approval gets the tokens;
the device code is then used.
"""

from __future__ import annotations

import secrets
from typing import Any

from authlib.oauth2.rfc8628.errors import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from quart import Blueprint, Response
from werkzeug.datastructures import MultiDict

from core import digest
from observe import audit
from oidc.client_auth import authenticated_client
from oidc.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
)
from oidc.grants import grant_lifetime
from oidc.http import (
    NO_STORE,
    BackChannelRequest,
    JsonAnswer,
    back_channel_request,
    json_response,
    oauth_error_answer,
)
from oidc.provider import Provider, current_provider
from oidc.token_response import token_response
from store import ClientRecord, DeviceCodeRecord, DuplicateError, GrantRecord

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_AUTHORIZATION_PATH = "/device_authorization"
VERIFICATION_PATH = "/device"
# RFC 8628 §6.1: consonants only (no words, no look-alike vowels), 8 of them: 20^8 ≈ 2^34.6.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
DEVICE_CODE_LIFETIME = 600
INTERVAL = 5
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5

blueprint = Blueprint("device_authorization", __name__)


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def shown(user_code: str) -> str:
    """A user code as people read it: two groups of four, e.g. `BDFG-HJKL`."""
    half = USER_CODE_LENGTH // 2
    return f"{user_code[:half]}-{user_code[half:]}"


def normalized(typed: str) -> str | None:
    """A user code as typed (any case, with dashes or spaces), or None when it cannot be one."""
    letters = "".join(c for c in typed.upper() if c not in "- ")
    if len(letters) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in letters):
        return None
    return letters


def _scope(client: ClientRecord, requested: str | None) -> str:
    """The scopes asked for, narrowed to the client's (RFC 6749 §3.3); openid by default."""
    asked = (requested or "openid").split()
    return " ".join(s for s in dict.fromkeys(asked) if s in client.allowed_scopes or s == "openid")


async def authorization_answer(provider: Provider, request: BackChannelRequest) -> JsonAnswer:
    """RFC 8628 §3.1-3.2: client authentication as at the token endpoint (public clients
    send their client_id), then the codes."""
    try:
        client, form = await authenticated_client(request, provider.client_assertions)
        if GRANT_TYPE not in client.grant_types:
            raise UnauthorizedClientError("this client may not use the device flow")
        scope = _scope(client, form.get("scope"))
        if not scope:
            raise InvalidRequestError("none of the requested scopes is allowed")
    except OAuth2Error as error:
        return oauth_error_answer(error)
    now = provider.clock()
    for _ in range(5):  # a user code already in use is drawn again
        device_code, user_code = secrets.token_urlsafe(32), new_user_code()
        try:
            await provider.store.device_codes.add(DeviceCodeRecord(
                id=digest(device_code), user_code=user_code, client_id=client.client_id,
                scope=scope, interval=INTERVAL, expires_at=now + DEVICE_CODE_LIFETIME,
            ))
            break
        except DuplicateError:
            continue
    else:
        raise RuntimeError("no free user code after five draws")
    verification = provider.url(VERIFICATION_PATH)
    return JsonAnswer({
        "device_code": device_code,
        "user_code": shown(user_code),
        "verification_uri": verification,
        "verification_uri_complete": f"{verification}?user_code={shown(user_code)}",
        "expires_in": DEVICE_CODE_LIFETIME,
        "interval": INTERVAL,
    }, headers=dict(NO_STORE))


@blueprint.route(DEVICE_AUTHORIZATION_PATH, methods=["POST"])
async def device_authorization() -> Response:
    return json_response(await authorization_answer(current_provider(), await back_channel_request()))


async def device_code_grant(
    provider: Provider, client: ClientRecord, form: MultiDict[str, str], jkt: str | None
) -> dict[str, Any]:
    """RFC 8628 §3.4-3.5: a device polls with its device code."""
    device_code = form.get("device_code")
    if not device_code:
        raise InvalidRequestError("device_code is required")
    store, now, device_id = provider.store, provider.clock(), digest(device_code)
    record = await store.device_codes.get(device_id)
    if record is None or record.client_id != client.client_id:
        raise InvalidGrantError("the device code is unknown or another client's")
    if record.expires_at <= now:
        raise ExpiredTokenError()
    if record.version != 0:
        raise InvalidGrantError("the device code was used already")
    approval = record.approval
    if approval is None:
        if record.last_polled_at is not None and now - record.last_polled_at < record.interval:
            await store.device_codes.polled(device_id, now, record.interval + SLOW_DOWN_STEP)
            raise SlowDownError()
        await store.device_codes.polled(device_id, now)
        raise AuthorizationPendingError()
    if approval.denied or approval.subject is None:
        raise AccessDeniedError("the person refused this device")
    if await store.device_codes.redeem(device_id, now, client.client_id) is None:
        raise InvalidGrantError("the device code was used already")  # a racing poll won
    grant = GrantRecord(
        id=secrets.token_urlsafe(16), client_id=client.client_id, subject=approval.subject,
        scope=record.scope, sid=approval.sid, auth_time=approval.auth_time, amr=approval.amr,
        acr=approval.acr, created_at=now,
        expires_at=now + grant_lifetime(provider, client, record.scope.split()),
    )
    await store.grants.add(grant)
    body = await token_response(provider, client, grant, jkt=jkt)
    await audit(
        store, "token_issued", subject=grant.subject, client_id=client.client_id,
        grant_type=GRANT_TYPE, scope=body["scope"], sid=grant.sid,
    )
    return body
