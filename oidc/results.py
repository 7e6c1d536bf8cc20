"""What protocol code answers a browser with: typed results that the edge (`ui/results.py`) turns
into HTTP responses, so oidc/ never renders. A result carries the cookies to set with it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec

from quart import Response, current_app

from oidc.cookies import CookieJar

P = ParamSpec("P")


@dataclass(frozen=True)
class CookieChange:
    """A cookie to set with a result, or to clear when `value` is None."""

    key: str
    value: str | None
    max_age: int | None
    path: str
    secure: bool
    httponly: bool
    samesite: str

    def apply(self, jar: CookieJar) -> None:
        if self.value is None:
            jar.delete_cookie(
                self.key, path=self.path, secure=self.secure, httponly=self.httponly,
                samesite=self.samesite,
            )
        else:
            jar.set_cookie(
                self.key, self.value, max_age=self.max_age, path=self.path, secure=self.secure,
                httponly=self.httponly, samesite=self.samesite,
            )


@dataclass
class WithCookies:
    """The cookies a result sets or clears, in order (a `CookieJar`, like a response)."""

    cookies: list[CookieChange] = field(default_factory=list, init=False)

    def set_cookie(
        self, key: str, value: str, *, max_age: int | None, path: str, secure: bool,
        httponly: bool, samesite: str,
    ) -> None:
        self.cookies.append(CookieChange(key, value, max_age, path, secure, httponly, samesite))

    def delete_cookie(
        self, key: str, *, path: str, secure: bool, httponly: bool, samesite: str
    ) -> None:
        self.cookies.append(CookieChange(key, None, None, path, secure, httponly, samesite))


@dataclass
class Redirect(WithCookies):
    """A 303 to `location`: the browser follows it with GET, whatever method brought it."""

    location: str


@dataclass
class FormPost(WithCookies):
    """A form that posts `fields` to `redirect_uri` by itself (OAuth 2.0 Form Post Response
    Mode §2)."""

    redirect_uri: str
    fields: list[tuple[str, str]]


@dataclass
class PageResult(WithCookies):
    """A page for the person: one of ui's templates, the values it shows, its status."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200


Result = Redirect | FormPost | PageResult
Respond = Callable[[Result], Awaitable[Response]]
RESPOND_KEY = "gatehouse.respond"  # in app.extensions: the edge's adapter, installed at start-up


def answering(view: Callable[P, Awaitable[Result]]) -> Callable[P, Awaitable[Response]]:
    """A view of protocol code that returns a result, as Quart calls it: the response is made by
    the adapter the edge installed."""

    @wraps(view)
    async def respond(*args: P.args, **kwargs: P.kwargs) -> Response:
        adapter: Respond = current_app.extensions[RESPOND_KEY]
        return await adapter(await view(*args, **kwargs))

    return respond
