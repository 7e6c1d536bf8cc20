"""DPoP, Demonstrating Proof of Possession (RFC 9449): tokens bound to a key the client holds.

With each request the client sends a `DPoP` header: a JWT it signed with its key, whose header
carries the public key, and whose claims name the request (`htm`, `htu`), the moment (`iat`), a
unique `jti`, and at a resource the token it presents (`ath`). Tokens issued against a proof name
the key's thumbprint (`cnf.jkt`, RFC 7638), so a stolen token is of no use without the key.

Every proof is used once: its `jti` goes into the store's replay cache, which the workers share.
When `dpop_nonces` is on, a proof must also carry a nonce the server gave in `DPoP-Nonce` (§8);
nonces are an HMAC of the current five minutes under a key the workers share, so they rotate by
themselves, and the current and the previous one are taken.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, JWKRegistry

from oidc.errors import InvalidDPoPProofError, UseDPoPNonceError
from oidc.profiles import accepted_algs
from oidc.provider import Provider
from store import ClientRecord

DPOP_ALGS = ["ES256", "PS256", "RS256"]
PROOF_TYPE = "dpop+jwt"
PROOF_MAX_AGE = 60  # seconds a proof is taken after its iat (and remembered, against replay)
CLOCK_SKEW = 10
MAX_PROOF_CHARS = 8 * 1024
NONCE_PERIOD = 300


def thumbprint_of(token: str) -> str:
    """`ath`: the base64url SHA-256 of an access token (RFC 9449 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def current_nonce(provider: Provider) -> str | None:
    """The nonce to send in `DPoP-Nonce`, when nonces are required."""
    return _nonce(provider, int(provider.clock()) // NONCE_PERIOD) if provider.dpop_nonces else None


def _nonce(provider: Provider, period: int) -> str:
    mac = hmac.new(provider.dpop_nonce_key.encode(), str(period).encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode()


def _fresh_nonce(provider: Provider, nonce: object) -> bool:
    period = int(provider.clock()) // NONCE_PERIOD
    return isinstance(nonce, str) and any(
        hmac.compare_digest(nonce, _nonce(provider, p)) for p in (period, period - 1)
    )


async def proof_key(
    provider: Provider, client: ClientRecord, proof: str, method: str, url: str,
    access_token: str | None = None,
) -> str:
    """The thumbprint (`jkt`) of the key that signed `proof` for this request of `client`
    (whose profile may narrow the algorithms): `method` at `url` (without query), presenting
    `access_token` at a resource. Raises `invalid_dpop_proof`, or `use_dpop_nonce` when a nonce
    is required and missing or stale."""
    if len(proof) > MAX_PROOF_CHARS:
        raise InvalidDPoPProofError("the DPoP proof is too large")
    algs = accepted_algs(provider.profile, client, DPOP_ALGS)
    try:
        token = jwt.decode(proof, _header_key, algorithms=algs)
    except (JoseError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise InvalidDPoPProofError("the DPoP proof's signature is invalid") from exc
    claims, now = token.claims, provider.clock()
    _check_claims(claims, method, url, access_token, now)
    if provider.dpop_nonces and not _fresh_nonce(provider, claims.get("nonce")):
        raise UseDPoPNonceError(str(current_nonce(provider)))
    jkt = JWKRegistry.import_key(token.header["jwk"]).thumbprint()
    if not await provider.store.replay.first_use(
        f"dpop:{jkt}:{claims['jti']}", float(claims["iat"]) + PROOF_MAX_AGE + CLOCK_SKEW, now
    ):
        raise InvalidDPoPProofError("the DPoP proof was already used")
    return jkt


def _header_key(guest: GuestProtocol) -> Any:
    """The public key in the proof's own header (RFC 9449 §4.2: typ, alg and jwk)."""
    header = guest.headers()
    if header.get("typ") != PROOF_TYPE:
        raise InvalidDPoPProofError("the DPoP proof's typ must be dpop+jwt")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDPoPProofError("the DPoP proof's header carries no jwk")
    try:
        key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise InvalidDPoPProofError("the DPoP proof's jwk is not a key") from exc
    if key.key_type == "oct" or key.is_private:
        raise InvalidDPoPProofError("the DPoP proof's jwk must be a public key")
    return key


def _check_claims(
    claims: dict[str, Any], method: str, url: str, access_token: str | None, now: float
) -> None:
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise InvalidDPoPProofError("the DPoP proof needs a jti")
    if claims.get("htm") != method:
        raise InvalidDPoPProofError("the DPoP proof's htm is not this request's method")
    htu = claims.get("htu")
    # §4.3: the URI without its query and fragment.
    if not isinstance(htu, str) or htu.split("#")[0].split("?")[0] != url:
        raise InvalidDPoPProofError("the DPoP proof's htu is not this endpoint")
    if not isinstance(iat, (int, float)) or isinstance(iat, bool) or not (
        now - PROOF_MAX_AGE <= iat <= now + CLOCK_SKEW
    ):
        raise InvalidDPoPProofError("the DPoP proof's iat is not recent")
    if access_token is not None and not (
        isinstance(claims.get("ath"), str)
        and hmac.compare_digest(claims["ath"], thumbprint_of(access_token))
    ):
        raise InvalidDPoPProofError("the DPoP proof's ath is not the access token's")
