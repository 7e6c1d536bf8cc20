"""The two cookies the provider sets: the browser binding (which runs belong to this browser) and
the SSO session. Both hold random values; the store keeps only their SHA-256 digests."""

from __future__ import annotations

import secrets
from typing import Protocol

from quart import Request

from core import digest
from oidc.provider import Provider


class CookieJar(Protocol):
    """What cookies are set on and cleared from: a Quart response, or a result of protocol code
    (`oidc.results`) that carries them to the response made from it."""

    def set_cookie(
        self, key: str, value: str, *, max_age: int | None, path: str, secure: bool,
        httponly: bool, samesite: str,
    ) -> None: ...

    def delete_cookie(
        self, key: str, *, path: str, secure: bool, httponly: bool, samesite: str
    ) -> None: ...


def cookie_name(provider: Provider, name: str) -> str:
    # The __Host- prefix pins a cookie to this host, https and path / (RFC 6265bis §4.1.3.2).
    return f"__Host-{name}" if provider.secure_cookies else name


def set_cookie(
    provider: Provider, response: CookieJar, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        cookie_name(provider, name),
        value,
        max_age=max_age,
        path="/",
        secure=provider.secure_cookies,
        httponly=True,
        samesite="Lax",
    )


BROWSER = "gh_browser"
SESSION = "gh_session"


def browser_binding(provider: Provider, request: Request) -> tuple[str, str | None]:
    """The digest that binds runs to this browser, and a new cookie value to set (or None)."""
    value = request.cookies.get(cookie_name(provider, BROWSER))
    if value and 20 <= len(value) <= 100:
        return digest(value), None
    value = secrets.token_urlsafe(32)
    return digest(value), value


def set_browser_cookie(provider: Provider, response: CookieJar, value: str) -> None:
    set_cookie(provider, response, BROWSER, value, max_age=None)


def session_cookie_digest(provider: Provider, request: Request) -> str | None:
    value = request.cookies.get(cookie_name(provider, SESSION))
    return digest(value) if value and len(value) <= 100 else None


def set_session_cookie(provider: Provider, response: CookieJar, value: str) -> None:
    set_cookie(provider, response, SESSION, value, max_age=provider.session_lifetime)


def clear_cookie(provider: Provider, response: CookieJar, name: str) -> None:
    response.delete_cookie(
        cookie_name(provider, name),
        path="/",
        secure=provider.secure_cookies,
        httponly=True,
        samesite="Lax",
    )
