"""Minting and checking the tokens we sign: ID tokens (OIDC Core §2) and JWT access tokens (RFC 9068)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from core import digest
from oidc.errors import InvalidTokenError
from oidc.keys import JoseError
from oidc.profiles import signing_alg
from oidc.provider import Provider
from store import AccessTokenRecord, ClientRecord, GrantRecord

ACCESS_TOKEN_TYPE = "at+jwt"
# A private claim naming the grant, so that revoking the grant revokes the token.
GRANT_CLAIM = "gid"


def half_hash(value: str) -> str:
    """`at_hash`: the left half of the SHA-256 of the token, base64url (OIDC Core §3.1.3.6)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def userinfo_audience(provider: Provider) -> str:
    """The `aud` of access tokens for our UserInfo endpoint: those of user grants, which name no
    resource of their own."""
    return provider.url("/userinfo")


def audiences(claims: dict[str, Any]) -> list[str]:
    """A token's `aud`, a string or a list of them (RFC 7519 §4.1.3), as a list."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [value for value in aud if isinstance(value, str)] if isinstance(aud, list) else []


async def issue_access_token(
    provider: Provider, client: ClientRecord, grant: GrantRecord, scope: str, now: int,
    self_contained: bool = False, jkt: str | None = None, act: dict[str, Any] | None = None,
) -> str:
    """An access token: a JWT in the RFC 9068 shape, or for clients that chose reference tokens
    an opaque random string whose claims stay in the store. Without an audience of its own it is
    for our userinfo endpoint. A `self_contained` token carries all of its grant, which is not
    stored (see `grant_of`). With `jkt` it is bound to that DPoP key (RFC 9449 §6: `cnf`)."""
    claims: dict[str, Any] = {
        "iss": provider.issuer,
        "sub": grant.subject,
        "aud": grant.audience or userinfo_audience(provider),
        "client_id": client.client_id,
        "scope": scope,
        "iat": now,
        "exp": now + provider.access_token_lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    if not self_contained:
        claims[GRANT_CLAIM] = grant.id
    if grant.sid is not None:
        claims["sid"] = grant.sid
    if grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time)
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}
    if act is not None:
        claims["act"] = act  # RFC 8693 §4.1: who acts for the subject
    if client.access_token_format == "reference":
        token = secrets.token_urlsafe(32)  # 256 bits; only its digest is stored
        await provider.store.access_tokens.add(
            AccessTokenRecord(id=digest(token), claims=claims, expires_at=claims["exp"])
        )
        return token
    return provider.keys.sign(
        claims, alg=signing_alg(provider.profile, client, "RS256"), typ=ACCESS_TOKEN_TYPE
    )


def mint_id_token(
    provider: Provider,
    client: ClientRecord,
    grant: GrantRecord,
    access_token: str,
    now: int,
    nonce: str | None,
    user_claims: dict[str, Any] | None = None,
) -> str:
    """An ID token. On refresh the same claims come back with a new `iat` and no nonce
    (OIDC Core §12.2 and its errata)."""
    claims: dict[str, Any] = {
        **(user_claims or {}),
        "iss": provider.issuer,
        "sub": grant.subject,
        "aud": client.client_id,
        "azp": client.client_id,
        "exp": now + provider.id_token_lifetime,
        "iat": now,
        "auth_time": int(grant.auth_time or 0),
        "amr": grant.amr,
        "acr": grant.acr,
        "sid": grant.sid,
        "at_hash": half_hash(access_token),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return provider.keys.sign(
        claims, alg=signing_alg(provider.profile, client, client.id_token_signed_response_alg)
    )


async def access_token_claims(provider: Provider, token: str) -> dict[str, Any]:
    """What an access token we issued says, expired or not: a JWT's verified claims, or a
    reference token's stored ones. Raises `InvalidTokenError` for anything else."""
    if token.count(".") != 2:
        record = await provider.store.access_tokens.get(digest(token), provider.clock())
        if record is None:
            raise InvalidTokenError("unknown or expired access token")
        return record.claims
    try:
        decoded = provider.keys.decode(token)
    except (JoseError, ValueError) as exc:
        raise InvalidTokenError(
            "the access token is malformed or its signature is invalid"
        ) from exc
    claims = decoded.claims
    if decoded.header.get("typ") != ACCESS_TOKEN_TYPE or claims.get("iss") != provider.issuer:
        raise InvalidTokenError("not an access token of this issuer")
    return claims


async def verify_access_token(provider: Provider, token: str) -> tuple[dict[str, Any], GrantRecord]:
    """The claims of a valid access token we issued, and its grant, which still stands; raises
    `InvalidTokenError` otherwise."""
    claims = await access_token_claims(provider, token)
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= provider.clock():
        raise InvalidTokenError("the access token has expired")
    grant = await grant_of(provider, claims)
    if grant is None or grant.revoked:
        raise InvalidTokenError("the access token has been revoked")
    return claims, grant


async def grant_of(provider: Provider, claims: dict[str, Any]) -> GrantRecord | None:
    """The grant of an access token's verified claims, None once it has expired.

    A user's grant is stored, and the token names it (`gid`). A client_credentials token is the
    only one of its grant, so the grant is not stored when the token is issued: the token's own
    claims are the grant, and revoking it stores the grant, revoked, under the token's `jti`."""
    now = provider.clock()
    if GRANT_CLAIM in claims:
        return await provider.store.grants.get(str(claims[GRANT_CLAIM]), now)
    jti = str(claims.get("jti"))
    revoked = await provider.store.grants.get(jti, now)
    if revoked is not None:
        return revoked
    expires_at = float(claims.get("exp", 0))
    if expires_at <= now:
        return None
    return GrantRecord(
        id=jti, client_id=str(claims.get("client_id")), subject=str(claims.get("sub")),
        scope=str(claims.get("scope", "")), audience=audiences(claims),
        created_at=float(claims.get("iat", 0)), expires_at=expires_at,
    )
