"""When the user must consent, and what each scope means in plain words (OIDC Core §3.1.2.4).

Consent is asked when the client has `require_consent`, when `offline_access` is requested (OIDC
Core §11, unless the client has `offline_access_without_consent`) or with `prompt=consent`; a
decision is remembered per client for the scopes it covered.
"""

from __future__ import annotations

from store.records import ClientRecord, ConsentRecord
from store.repositories import Store
from ui.messages import N_

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


def scopes_needing_consent(client: ClientRecord, scopes: list[str]) -> list[str]:
    """The scopes for which this client needs the user's agreement (empty: none)."""
    if client.require_consent:
        return scopes
    if "offline_access" in scopes and not client.offline_access_without_consent:
        return scopes
    return []


async def missing_consent(
    store: Store, client: ClientRecord, subject: str, scopes: list[str]
) -> list[str]:
    """The scopes that need consent and that no remembered decision covers."""
    needed = scopes_needing_consent(client, scopes)
    if not needed:
        return []
    record = await store.consents.get(client.client_id, subject)
    granted = set(record.scopes) if record else set()
    return [scope for scope in needed if scope not in granted]


async def remember_consent(
    store: Store, client: ClientRecord, subject: str, scopes: list[str], now: float
) -> None:
    """Add `scopes` to what the user agreed to share with the client."""
    record = await store.consents.get(client.client_id, subject)
    kept = record.scopes if record else []
    await store.consents.put(
        ConsentRecord(
            id=f"{client.client_id} {subject}",
            subject=subject,
            client_id=client.client_id,
            scopes=list(dict.fromkeys([*kept, *scopes])),
            updated_at=now,
        )
    )
