"""Token exchange (RFC 8693): a service trades a token it was given for one to call another
resource, in the same person's name, with an actor token recording who acts (`act`).

The client's `token_exchange` policy says whose tokens it may exchange (its own, and those of its
`subject_clients`) and for which audiences. The subject token is one of our access tokens, still
valid, or one of our ID tokens issued to such a client. The new token never widens the subject
token's scope; it keeps the subject token's stored grant, so that revoking that grant ends it too.
No refresh token is issued.
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from observe import audit
from oidc.client_credentials_grant import InvalidTargetError
from oidc.errors import (
    InvalidRequestError,
    InvalidScopeError,
    InvalidTokenError,
    UnauthorizedClientError,
    printable,
)
from oidc.id_token_hint import id_token_claims
from oidc.provider import Provider
from oidc.tokens import GRANT_CLAIM, audiences, issue_access_token, verify_access_token
from store import ClientRecord, GrantRecord, TokenExchangePolicy

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


async def exchange(
    provider: Provider, client: ClientRecord, form: MultiDict[str, str], jkt: str | None
) -> dict[str, Any]:
    policy = client.token_exchange
    if client.is_public or policy is None:
        raise UnauthorizedClientError("this client may not exchange tokens")
    if form.get("requested_token_type", ACCESS_TOKEN) != ACCESS_TOKEN:
        raise InvalidRequestError("only access tokens can be requested")
    subject = await _token_claims(
        provider, {client.client_id, *policy.subject_clients}, form.get("subject_token"),
        form.get("subject_token_type"), "subject",
    )
    act = subject.get("act") if isinstance(subject.get("act"), dict) else None
    if form.get("actor_token") is not None or form.get("actor_token_type") is not None:
        actor = await _token_claims(  # the client itself acts: its own token
            provider, {client.client_id}, form.get("actor_token"), form.get("actor_token_type"),
            "actor",
        )
        act = {"sub": str(actor["sub"]), **({"act": act} if act else {})}
    now = int(provider.clock())
    grant = GrantRecord(
        # The subject's stored grant, when it has one: revoking it ends this token too.
        id=str(subject.get(GRANT_CLAIM, "")),
        client_id=client.client_id,
        subject=str(subject["sub"]),
        scope=_scope(subject, form.get("scope")),
        audience=_audience(policy, form),
        sid=subject.get("sid"),
        auth_time=subject.get("auth_time"),
        created_at=now,
        expires_at=now + provider.access_token_lifetime,
    )
    token = await issue_access_token(
        provider, client, grant, grant.scope, now, self_contained=GRANT_CLAIM not in subject,
        jkt=jkt, act=act,
    )
    await audit(
        provider.store, "token_issued", subject=grant.subject, client_id=client.client_id,
        grant_type=GRANT_TYPE, scope=grant.scope, audience=grant.audience,
        actor=act.get("sub") if act else None,
    )
    return {
        "access_token": token,
        "issued_token_type": ACCESS_TOKEN,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": provider.access_token_lifetime,
        "scope": grant.scope,
    }


async def _token_claims(
    provider: Provider, issued_to_one_of: set[str], token: str | None, token_type: str | None,
    role: str,
) -> dict[str, Any]:
    """The claims of a subject or actor token, issued to one of `issued_to_one_of` (RFC 8693
    §2.2.2: any fault of the token is `invalid_request`)."""
    if not token or not token_type:
        raise InvalidRequestError(f"{role}_token and {role}_token_type are required")
    if token_type == ACCESS_TOKEN:
        try:
            claims, _ = await verify_access_token(provider, token)
        except InvalidTokenError as exc:
            raise InvalidRequestError(f"the {role} token is not valid") from exc
        issued_to = [str(claims.get("client_id"))]
    elif token_type == ID_TOKEN:
        claims = _id_token_claims(provider, token, role)
        issued_to = audiences(claims)
    else:
        raise InvalidRequestError(f"{role}_token_type {printable(token_type)} is not supported")
    if not issued_to_one_of & set(issued_to):
        raise InvalidRequestError(f"this client may not exchange the {role} token")
    if token_type == ID_TOKEN:
        claims = {**claims, "scope": "openid"}  # an ID token proves who, not what was granted
    return claims


def _id_token_claims(provider: Provider, token: str, role: str) -> dict[str, Any]:
    claims = id_token_claims(provider, token)
    exp = claims.get("exp") if claims else None
    if claims is None or not isinstance(exp, int) or exp <= provider.clock():
        raise InvalidRequestError(f"the {role} token is not a valid ID token of this issuer")
    return claims


def _scope(subject: dict[str, Any], requested: str | None) -> str:
    held = str(subject.get("scope", "")).split()
    if requested is None:
        return " ".join(held)
    if not set(requested.split()) <= set(held):
        raise InvalidScopeError("a token exchange cannot widen the subject token's scope")
    return " ".join(dict.fromkeys(requested.split()))


def _audience(policy: TokenExchangePolicy, form: MultiDict[str, str]) -> list[str]:
    """RFC 8693 §2.1: `audience` and `resource` name the target; each must be in the policy."""
    targets = [*form.getlist("audience"), *form.getlist("resource")]
    for target in targets:
        if target not in policy.audiences:
            raise InvalidTargetError(f"{printable(target)} is not an allowed audience")
    return list(dict.fromkeys(targets)) or policy.audiences[:1]

