"""WebAuthn ceremonies shared by the passkey steps (py_webauthn does the verification).

A passkey is stored as a `webauthn` credential whose id is `webauthn:` + the credential id
(base64url), so an assertion finds its credential without knowing the user first (usernameless
sign-in). The WebAuthn user handle is the user's id, which is random and says nothing about them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, generate_challenge
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from core import N_
from steps.base import StepContext
from store import CredentialRecord, DuplicateError, StaleVersionError, UserRecord

log = logging.getLogger("gatehouse.webauthn")

UserVerification = Literal["required", "preferred", "discouraged"]
KIND = "webauthn"
MAX_RESPONSE = 16 * 1024  # a WebAuthn response is a few kilobytes at most
NOT_CHECKED = N_("That passkey could not be checked. Try again.")
UNKNOWN = N_("This passkey is not registered here. Try another way to sign in.")
CLONED = N_(
    "This passkey looks copied, so it was not accepted. Sign in another way and replace it."
)


def _text(value: object) -> str:
    """An enum's value, or the string py_webauthn returned."""
    return str(getattr(value, "value", value))


def credential_id(raw_id: bytes) -> str:
    return f"{KIND}:{bytes_to_base64url(raw_id)}"


def _descriptor(credential: CredentialRecord) -> PublicKeyCredentialDescriptor:
    transports = [
        AuthenticatorTransport(t)
        for t in credential.data.get("transports", [])
        if t in AuthenticatorTransport._value2member_map_
    ]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential.data["credential_id"]), transports=transports or None
    )


async def passkeys_of(ctx: StepContext, user_id: str) -> list[CredentialRecord]:
    return [c for c in await ctx.store.credentials.for_user(user_id) if c.kind == KIND]


async def creation_options(
    ctx: StepContext, user: UserRecord, verification: UserVerification,
    attestation: Literal["none", "direct"],
) -> str:
    """`PublicKeyCredentialCreationOptions` as JSON for the page; the challenge stays in the run."""
    options = generate_registration_options(
        rp_id=ctx.services.relying_party.id,
        rp_name=ctx.services.relying_party.name,
        user_id=user.id.encode(),
        user_name=user.username,
        user_display_name=str(user.claims.get("name") or user.username),
        attestation=AttestationConveyancePreference(attestation),
        # Passkeys: discoverable credentials, so the next sign-in needs no username.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement(verification),
        ),
        exclude_credentials=[_descriptor(c) for c in await passkeys_of(ctx, user.id)],
        challenge=_challenge(ctx),
    )
    return options_to_json(options)


async def request_options(
    ctx: StepContext, user: UserRecord | None, verification: UserVerification
) -> str:
    """`PublicKeyCredentialRequestOptions` as JSON: the user's passkeys when the run knows the
    user, else none listed (the browser offers its discoverable credentials for this RP)."""
    allowed = [_descriptor(c) for c in await passkeys_of(ctx, user.id)] if user else []
    options = generate_authentication_options(
        rp_id=ctx.services.relying_party.id,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement(verification),
        challenge=_challenge(ctx),
    )
    return options_to_json(options)


def _challenge(ctx: StepContext) -> bytes:
    """The challenge for the page: the one not used yet (a reload changes nothing, so the run
    need not be saved again), else a new one kept in the run."""
    kept = ctx.scratch.get("challenge")
    if isinstance(kept, str):
        return base64url_to_bytes(kept)
    challenge = generate_challenge()
    ctx.scratch["challenge"] = bytes_to_base64url(challenge)
    return challenge


def _parsed(response: str) -> dict[str, Any] | None:
    """The browser's answer (`credential.toJSON()`), if it is a JSON object of sensible size."""
    if not response or len(response) > MAX_RESPONSE:
        return None
    try:
        parsed = json.loads(response)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _take_challenge(ctx: StepContext) -> bytes | None:
    """The challenge of the page just shown, usable once."""
    challenge = ctx.scratch.pop("challenge", None)
    return base64url_to_bytes(challenge) if isinstance(challenge, str) else None


async def register(
    ctx: StepContext, user: UserRecord, response: str, name: str, verification: UserVerification
) -> CredentialRecord | str:
    """Verify a registration response and store the passkey; a message id when it fails."""
    challenge, parsed = _take_challenge(ctx), _parsed(response)
    if challenge is None or parsed is None:
        return NOT_CHECKED
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=ctx.services.relying_party.id,
            expected_origin=list(ctx.services.relying_party.origins),
            require_user_verification=verification == "required",
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("passkey registration refused: %s", exc)
        return NOT_CHECKED
    credential = CredentialRecord(
        id=credential_id(verified.credential_id),
        user_id=user.id,
        kind=KIND,
        name=name,
        data={
            "credential_id": bytes_to_base64url(verified.credential_id),
            "public_key": bytes_to_base64url(verified.credential_public_key),
            "sign_count": verified.sign_count,
            "transports": _transports(parsed),
            "device_type": _text(verified.credential_device_type),
            "backed_up": verified.credential_backed_up,
            "aaguid": verified.aaguid,
        },
        created_at=ctx.now,
    )
    try:
        await ctx.store.credentials.add(credential)
    except DuplicateError:  # registered already (by this user or another): keep the first
        return NOT_CHECKED
    record(ctx, credential, verified.user_verified)
    return credential


def _transports(parsed: dict[str, Any]) -> list[str]:
    """The transports the browser reported for a new credential (hints for later sign-ins)."""
    found = parsed.get("response", {}).get("transports")
    return [t for t in found if isinstance(t, str)][:8] if isinstance(found, list) else []


@dataclass
class Assertion:
    """A passkey that signed this run's challenge; `record` it once the run knows the user."""

    user: UserRecord
    credential: CredentialRecord
    user_verified: bool


async def authenticate(
    ctx: StepContext, response: str, user: UserRecord | None, verification: UserVerification
) -> Assertion | str:
    """Verify an assertion: for `user`'s passkeys, or (usernameless) for whoever the passkey
    belongs to. A message id when it fails."""
    challenge, parsed = _take_challenge(ctx), _parsed(response)
    if challenge is None or parsed is None:
        return NOT_CHECKED
    raw_id = parsed.get("rawId")
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return NOT_CHECKED
    credential = await ctx.store.credentials.get(f"{KIND}:{raw_id}")
    if credential is None or credential.kind != KIND:
        return UNKNOWN
    if user is not None and credential.user_id != user.id:
        return UNKNOWN
    owner = user or await ctx.store.users.get(credential.user_id)
    if owner is None:
        return UNKNOWN
    if credential.data.get("clone_suspected"):
        return CLONED
    try:
        handle = parsed.get("response", {}).get("userHandle")
        if handle and base64url_to_bytes(handle) != owner.id.encode():
            return UNKNOWN
        # The counter is compared below, after the signature is known to be good.
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=ctx.services.relying_party.id,
            expected_origin=list(ctx.services.relying_party.origins),
            credential_public_key=base64url_to_bytes(credential.data["public_key"]),
            credential_current_sign_count=0,
            require_user_verification=verification == "required",
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("passkey assertion refused: %s", exc)
        return NOT_CHECKED
    # The backup state can change (a passkey later synced): `amr` follows the latest.
    credential.data["device_type"] = _text(verified.credential_device_type)
    credential.data["backed_up"] = verified.credential_backed_up
    return await _count_use(ctx, owner, credential, verified.new_sign_count,
                            verified.user_verified)


async def _count_use(
    ctx: StepContext, owner: UserRecord, credential: CredentialRecord, count: int,
    user_verified: bool,
) -> Assertion | str:
    """WebAuthn §6.1.1: a signature counter that did not grow may mean a cloned authenticator
    (authenticators that keep no counter always say 0). Such a passkey is flagged and refused."""
    stored = int(credential.data.get("sign_count", 0))
    if (count or stored) and count <= stored:
        log.warning("passkey %s of user %s: counter %d after %d, flagged as possibly cloned",
                    credential.id, owner.id, count, stored)
        credential.data["clone_suspected"] = True
        result: Assertion | str = CLONED
    else:
        credential.data["sign_count"] = count
        result = Assertion(owner, credential, user_verified)
    credential.last_used_at = ctx.now
    try:
        await ctx.store.credentials.update(credential)
    except StaleVersionError:
        return NOT_CHECKED  # the same passkey used by a parallel request: one of them wins
    return result


def accept(ctx: StepContext, assertion: Assertion) -> None:
    """The passkey's owner signs in: identified (usernameless) and the proof recorded."""
    if ctx.run.subject != assertion.user.id:
        ctx.identify(assertion.user)
        ctx.flow_data()["login"] = assertion.user.username
    record(ctx, assertion.credential, assertion.user_verified)


def record(ctx: StepContext, credential: CredentialRecord, user_verified: bool) -> None:
    """RFC 8176 `amr`: `hwk` for a key bound to one device, `swk` for a synced passkey; `user`
    for the presence test. User verification (a PIN or biometric checked by the authenticator)
    makes it a multi-factor proof on its own, so it also counts as an inherence factor."""
    synced = credential.data.get("device_type") == "multi_device"
    ctx.record_authentication("swk" if synced else "hwk", "possession")
    ctx.record_authentication("user", "inherence" if user_verified else "possession")
