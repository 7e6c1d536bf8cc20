"""When the user must consent (OIDC Core §3.1.2.4), and what they agreed to share with a client.

Consent is asked when the client has `require_consent`, when `offline_access` is requested (OIDC
Core §11, unless the client has `offline_access_without_consent`) or with `prompt=consent`; a
decision is remembered per client for the scopes it covered.
"""

from __future__ import annotations

from store.records import ClientRecord, ConsentRecord
from store.repositories import Store


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
