"""CSRF tokens of the signed-in pages' forms: bound to the SSO session and to the page they
belong to, so a token of the account page does not post a form of the admin console."""

from __future__ import annotations

import hashlib
import hmac

from core import N_, ErrorPage, same_secret
from oidc import Provider
from store import SessionRecord


def form_token(provider: Provider, session: SessionRecord, purpose: str) -> str:
    key = provider.device_key.encode()
    return hmac.new(key, f"{purpose}:{session.sid}".encode(), hashlib.sha256).hexdigest()


def check_form_token(
    provider: Provider, session: SessionRecord, purpose: str, posted: str | None
) -> None:
    """Refuse a form whose token is not this session's for `purpose`."""
    if not same_secret(posted or "", form_token(provider, session, purpose)):
        raise ErrorPage(
            N_("This form has expired"), N_("Go back, reload the page and try again."), status=400
        )
