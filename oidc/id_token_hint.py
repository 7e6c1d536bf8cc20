"""`id_token_hint` (OIDC Core §3.1.2.1): an ID token we issued, naming the user the client expects.

It may have expired, and the client need not be its audience; its signature and issuer must be ours.
"""

from __future__ import annotations

from oidc.errors import InvalidRequestError
from oidc.keys import JoseError
from oidc.provider import Provider
from oidc.tokens import ACCESS_TOKEN_TYPE


def hinted_subject(provider: Provider, hint: str | None) -> str | None:
    """The `sub` of a valid hint, None without one; `invalid_request` for a bad one."""
    if hint is None:
        return None
    try:
        token = provider.keys.decode(hint)
    except (JoseError, ValueError) as exc:
        raise InvalidRequestError("id_token_hint is not an ID token of this issuer") from exc
    subject = token.claims.get("sub")
    if (
        token.claims.get("iss") != provider.issuer
        or not isinstance(subject, str)
        or token.header.get("typ") == ACCESS_TOKEN_TYPE
    ):
        raise InvalidRequestError("id_token_hint is not an ID token of this issuer")
    return subject
