"""The client_credentials grant (RFC 6749 §4.4): a confidential client asks for a token for itself.

The token's `aud` is the resource it names (RFC 8707 resource indicators), or its configured
default; `sub` is the client (RFC 9068 §2.2). No ID token and no refresh token (§4.4.3).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from observe import audit
from oidc.errors import InvalidScopeError, OAuth2Error, UnauthorizedClientError, printable
from oidc.provider import Provider
from oidc.tokens import issue_access_token
from store import ClientRecord, GrantRecord

# Scopes about a person make no sense without one.
USER_SCOPES = frozenset({"openid", "offline_access", "profile", "email", "address", "phone"})


class InvalidTargetError(OAuth2Error):  # type: ignore[misc]
    """RFC 8707 §2: the requested resource is invalid, unknown, or not allowed for this client."""

    error = "invalid_target"


def _audience(client: ClientRecord, form: MultiDict[str, str]) -> list[str]:
    resources = form.getlist("resource")
    for resource in resources:
        # Only a registered audience is parsed: anything else is refused as it is.
        if resource not in client.access_token_audiences or (
            not (parts := urlsplit(resource)).scheme or parts.fragment
        ):
            raise InvalidTargetError(f"resource {printable(resource)} is not allowed")
    return resources or client.access_token_audiences[:1]


def _scope(client: ClientRecord, form: MultiDict[str, str]) -> str:
    allowed = [s for s in client.scope.split() if s not in USER_SCOPES]
    requested = form.get("scope")
    if requested is None:
        return " ".join(allowed)  # RFC 6749 §3.3: the pre-defined default
    if not set(requested.split()) <= set(allowed):
        raise InvalidScopeError("the client may not ask for these scopes")
    return " ".join(dict.fromkeys(requested.split()))


async def client_credentials(
    provider: Provider, client: ClientRecord, form: MultiDict[str, str], jkt: str | None
) -> dict[str, Any]:
    if client.is_public:
        raise UnauthorizedClientError("public clients cannot use client_credentials")
    now = int(provider.clock())
    grant = GrantRecord(
        id="",  # never stored: the token carries the grant (`grant_of`)
        client_id=client.client_id,
        subject=client.client_id,
        scope=_scope(client, form),
        audience=_audience(client, form),
        created_at=now,
        expires_at=now + provider.access_token_lifetime,
    )
    token = await issue_access_token(
        provider, client, grant, grant.scope, now, self_contained=True, jkt=jkt
    )
    body = {
        "access_token": token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": provider.access_token_lifetime,
        "scope": grant.scope,
    }
    await audit(
        provider.store, "token_issued", subject=grant.subject, client_id=client.client_id,
        grant_type="client_credentials", scope=grant.scope, audience=grant.audience,
        log_only=True,  # a service asks at machine rate and no person is behind it
    )
    return body
