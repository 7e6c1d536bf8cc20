"""Standard claims released for each scope (OIDC Core §5.4)."""

from __future__ import annotations

import json
from collections.abc import Iterable
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


def user_claims(
    user: UserRecord, scopes: list[str], requested: Iterable[str] = ()
) -> dict[str, Any]:
    """`sub` plus the claims the granted scopes release, plus claims requested one by one with
    the `claims` parameter (OIDC Core §5.5), of those the user record has."""
    available: dict[str, Any] = {
        **user.claims,
        "preferred_username": user.username,
        "email": user.email,
        "email_verified": user.email_verified if user.email else None,
    }
    released: dict[str, Any] = {"sub": user.id}
    wanted = [claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())]
    for claim in [*wanted, *requested]:
        if claim in CLAIMS_SUPPORTED and available.get(claim) is not None:
            released[claim] = available[claim]
    return released


def requested_claims(value: str | None) -> dict[str, list[str]]:
    """The claim names of a `claims` request parameter, per target (`userinfo`, `id_token`).

    Raises ValueError when it is not the JSON object §5.5 describes. Members' `essential`,
    `value` and `values` are accepted; every requested claim the user has is released.
    """
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except RecursionError as exc:  # nested deeper than the parser goes
        raise ValueError("claims is nested too deeply") from exc
    if not isinstance(parsed, dict):
        raise ValueError("claims must be a JSON object")
    found: dict[str, list[str]] = {}
    for target in ("userinfo", "id_token"):
        members = parsed.get(target, {})
        if not isinstance(members, dict) or not all(
            m is None or isinstance(m, dict) for m in members.values()
        ):
            raise ValueError(f"claims.{target} must map claim names to null or objects")
        found[target] = [name for name in members if name in CLAIMS_SUPPORTED]
    return found
