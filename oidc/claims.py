"""Standard claims released for each scope (OIDC Core §5.4), and `groups`: the scope of the same
name releases the user's groups (a list of names, from the local record or a user directory),
in the ID token too, since that is where applications look for them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from store import ClientRecord, UserRecord

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
    "groups": ("groups",),
}
ID_TOKEN_SCOPE_CLAIMS = ("groups",)  # released in the ID token as well as from UserInfo
SCOPES_SUPPORTED = ["openid", *SCOPE_CLAIMS, "offline_access"]
CLAIMS_SUPPORTED = ["sub", *(claim for claims in SCOPE_CLAIMS.values() for claim in claims)]


def scope_claims(scopes: Iterable[str]) -> set[str]:
    """`sub` and the claims that `scopes` cover (OIDC Core §5.4)."""
    return {"sub", *(claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ()))}


def claims_within(claims: dict[str, list[str]], scopes: Iterable[str]) -> dict[str, list[str]]:
    """The claims asked with the `claims` parameter, per target, that `scopes` cover."""
    covered = scope_claims(scopes)
    return {target: [name for name in names if name in covered] for target, names in claims.items()}


def user_claims(
    user: UserRecord, client: ClientRecord, scopes: list[str], requested: Iterable[str] = ()
) -> dict[str, Any]:
    """`sub` plus the claims the granted scopes release, plus claims requested one by one with
    the `claims` parameter (OIDC Core §5.5), of those the user record has.

    Whatever was asked, only claims of the scopes registered for the client are released: the
    `claims` parameter names claims, it does not widen what the client may have.
    """
    available: dict[str, Any] = {
        **user.claims,
        "preferred_username": user.username,
        "email": user.email,
        "email_verified": user.email_verified if user.email else None,
        "groups": list(user.groups),
        "sub": user.id,  # never a stored claim of that name
    }
    released: dict[str, Any] = {"sub": user.id}
    covered = scope_claims(client.allowed_scopes)
    wanted = [claim for scope in scopes for claim in SCOPE_CLAIMS.get(scope, ())]
    for claim in [*wanted, *requested]:
        if claim in covered and available.get(claim) is not None:
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
