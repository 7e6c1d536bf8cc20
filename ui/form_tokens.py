"""CSRF tokens of the forms outside flow runs: bound to the SSO session (or, before anyone is
signed in, to the browser's cookie) and to the page they belong to, so a token of the account
page does not post a form of the admin console."""

from __future__ import annotations

import hashlib
import hmac

from core import N_, ErrorPage, same_secret
from oidc import Provider
from store import SessionRecord


def _mac(provider: Provider, text: str) -> str:
    return hmac.new(provider.device_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def form_token(provider: Provider, session: SessionRecord, purpose: str) -> str:
    return _mac(provider, f"{purpose}:{session.sid}")


def browser_form_token(provider: Provider, browser_hash: str, purpose: str) -> str:
    """A token for a form shown before sign-in, bound to the browser cookie's digest: a post
    from another site does not carry the cookie (SameSite), so its token never matches."""
    return _mac(provider, f"{purpose}:browser:{browser_hash}")


def _check(posted: str | None, expected: str) -> None:
    if not same_secret(posted or "", expected):
        raise ErrorPage(
            N_("This form has expired"), N_("Go back, reload the page and try again."), status=400
        )


def check_form_token(
    provider: Provider, session: SessionRecord, purpose: str, posted: str | None
) -> None:
    """Refuse a form whose token is not this session's for `purpose`."""
    _check(posted, form_token(provider, session, purpose))


def check_browser_form_token(
    provider: Provider, browser_hash: str, purpose: str, posted: str | None
) -> None:
    """Refuse a form whose token is not this browser's for `purpose`."""
    _check(posted, browser_form_token(provider, browser_hash, purpose))
