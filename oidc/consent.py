"""When the user must consent, and what each scope means in plain words (OIDC Core §3.1.2.4).

Consent is asked when the client has `require_consent`, when `offline_access` is requested (OIDC
Core §11, unless the client has `offline_access_without_consent`) or with `prompt=consent`; a
decision is remembered per client for the scopes it covered.
"""

from __future__ import annotations

from core import N_
from store.records import ClientRecord, ConsentRecord
from store.repositories import Store

SCOPE_DESCRIPTIONS = {
    "openid": N_("Know who you are (your account identifier)"),
    "profile": N_("Your name and profile details"),
    "email": N_("Your email address"),
    "address": N_("Your postal address"),
    "phone": N_("Your phone number"),
    "offline_access": N_("Stay connected when you are not using it (a long-lived refresh token)"),
}

CLAIM_DESCRIPTIONS = {
    "name": N_("Full name"),
    "given_name": N_("First name"),
    "family_name": N_("Last name"),
    "nickname": N_("Nickname"),
    "preferred_username": N_("Username"),
    "picture": N_("Profile picture"),
    "birthdate": N_("Date of birth"),
    "email": N_("Email address"),
    "phone_number": N_("Phone number"),
    "address": N_("Postal address"),
}


def consent_items(scopes: list[str], claims: dict[str, list[str]]) -> list[str]:
    """What a consent covers: the scopes, and the claims requested one by one (`claim:name`)."""
    named = sorted({f"claim:{name}" for names in claims.values() for name in names})
    return [*scopes, *named]


def needing_consent(
    client: ClientRecord, scopes: list[str], claims: dict[str, list[str]]
) -> list[str]:
    """The items (scopes, `claim:` names) this client needs the user's agreement for."""
    if client.require_consent:
        return consent_items(scopes, claims)
    if "offline_access" in scopes and not client.offline_access_without_consent:
        return ["offline_access"]
    return []


async def missing_consent(
    store: Store,
    client: ClientRecord,
    subject: str,
    scopes: list[str],
    claims: dict[str, list[str]],
    given: list[str] | None = None,
) -> list[str]:
    """The items that need consent and that neither a remembered decision nor `given` (the
    answer of this run) covers."""
    needed = needing_consent(client, scopes, claims)
    if not needed:
        return []
    record = await store.consents.get(client.client_id, subject)
    granted = {*(record.scopes if record else []), *(given or [])}
    return [item for item in needed if item not in granted]


async def remember_consent(
    store: Store, client: ClientRecord, subject: str, items: list[str], now: float
) -> None:
    """Add `items` (see `consent_items`) to what the user agreed to share with the client."""
    record = await store.consents.get(client.client_id, subject)
    kept = record.scopes if record else []
    await store.consents.put(
        ConsentRecord(
            id=ConsentRecord.key(client.client_id, subject),
            subject=subject,
            client_id=client.client_id,
            scopes=list(dict.fromkeys([*kept, *items])),
            updated_at=now,
        )
    )
