"""Standard claims released for each scope (OIDC Core §5.4)."""

from __future__ import annotations

from typing import Any

from store.records import UserRecord

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}
SCOPES_SUPPORTED = ["openid", *SCOPE_CLAIMS, "offline_access"]
CLAIMS_SUPPORTED = ["sub", *(claim for claims in SCOPE_CLAIMS.values() for claim in claims)]


def user_claims(user: UserRecord, scopes: list[str]) -> dict[str, Any]:
    """`sub` plus the claims the granted scopes release that the user record has."""
    available: dict[str, Any] = {
        **user.claims,
        "preferred_username": user.username,
        "email": user.email,
        "email_verified": user.email_verified if user.email else None,
    }
    released: dict[str, Any] = {"sub": user.id}
    for scope in scopes:
        for claim in SCOPE_CLAIMS.get(scope, ()):
            if available.get(claim) is not None:
                released[claim] = available[claim]
    return released
