"""The authorization_code grant (RFC 6749 §4.1.3, OIDC Core §3.1.3.2)."""

from __future__ import annotations

import hmac
import re
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from werkzeug.datastructures import MultiDict

from core import digest
from observe import audit
from oidc.errors import InvalidGrantError, InvalidRequestError
from oidc.provider import Provider
from oidc.token_response import token_response
from store import ClientRecord, CodeRecord, GrantRecord

# RFC 7636 §4.1: 43 to 128 unreserved characters.
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


async def redeem_code(
    provider: Provider, client: ClientRecord, form: MultiDict[str, str], jkt: str | None
) -> dict[str, Any]:
    code, verifier = form.get("code"), form.get("code_verifier")
    if not code:
        raise InvalidRequestError("code is required")
    if verifier is not None and not PKCE_VERIFIER.fullmatch(verifier):
        raise InvalidGrantError("code_verifier is malformed (RFC 7636 4.1)")
    grant, record = await use_code(provider, client, code, form.get("redirect_uri"), verifier)
    if record.dpop_jkt is not None and record.dpop_jkt != jkt:
        raise InvalidGrantError("the code is bound to another DPoP key (dpop_jkt)")
    body = await token_response(provider, client, grant, nonce=record.nonce, jkt=jkt)
    await audit(
        provider.store, "token_issued", subject=grant.subject, client_id=client.client_id,
        grant_type="authorization_code", scope=body["scope"], sid=grant.sid,
    )
    return body


async def use_code(
    provider: Provider, client: ClientRecord, code: str, redirect_uri: str | None,
    verifier: str | None,
) -> tuple[GrantRecord, CodeRecord]:
    """Redeem `code` for `client`: the grant it was issued from, once every rule holds."""
    store, now, code_id = provider.store, provider.clock(), digest(code)
    # The grant is read first: the one request that uses the code is answered even when replays
    # racing it revoke the grant meanwhile (its tokens then die with the grant).
    issued = await store.codes.get(code_id, now)
    grant = await store.grants.get(issued.grant_id, now) if issued else None
    # Marked used before anything else is checked: a code is single use whatever happens next.
    # The store checks that it was issued to this client (RFC 6749 §4.1.3) in the same step, so
    # another client holding a stolen code cannot burn it.
    redemption = await store.codes.redeem(code_id, now, client.client_id)
    if redemption is None:
        raise InvalidGrantError("the code is invalid, expired, or issued to another client")
    record = redemption.record
    if not redemption.first:
        # RFC 6749 §4.1.2: a code used twice is refused, and the tokens issued from it are revoked.
        await store.grants.revoke(record.grant_id)
        raise InvalidGrantError("the code was already used; the tokens issued from it are revoked")
    # RFC 6749 §4.1.3: redirect_uri must be present and identical when it was in the request.
    if redirect_uri != record.redirect_uri:
        raise InvalidGrantError("redirect_uri does not match the authorization request")
    _check_pkce(record, verifier)
    if grant is None or grant.id != record.grant_id or grant.revoked:
        raise InvalidGrantError("the grant behind this code has ended")
    return grant, record


def _check_pkce(code: CodeRecord, verifier: str | None) -> None:
    """RFC 7636 §4.6; a verifier without a challenge is refused too (RFC 9700 §2.1.1)."""
    if code.code_challenge is None:
        if verifier is not None:
            raise InvalidGrantError("code_verifier sent but no code_challenge was")
        return
    if verifier is None:
        raise InvalidGrantError("code_verifier is required")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), code.code_challenge):
        raise InvalidGrantError("code_verifier does not match code_challenge")
