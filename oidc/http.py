"""Small HTTP helpers the endpoints share, and the framework-free shape of a back-channel
request and its JSON answer (served by Quart, or by the server's fast path)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from quart import Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from oidc.errors import InvalidRequestError, OAuth2Error, printable

# RFC 6749 §5.1: responses with tokens or credentials must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def with_query(uri: str, params: list[tuple[str, str]]) -> str:
    """`uri` with `params` appended, its own query kept byte for byte (RFC 6749 §3.1.2)."""
    if not params:
        return uri
    separator = "" if uri.endswith(("?", "&")) else "&" if "?" in uri else "?"
    return uri + separator + urlencode(params)


def see_other(location: str) -> Response:
    """A 303 redirect: the browser follows it with GET, whatever method brought it here."""
    return Response("", status=303, headers={"Location": location})


# RFC 8707 §2: `resource` may be given several times.
REPEATABLE = frozenset({"resource"})


@dataclass(frozen=True)
class BackChannelRequest:
    """What a back-channel endpoint reads of a request: its path, `Authorization` header,
    `Content-Type` and body (None when it was over `max_request_bytes` and not read)."""

    path: str
    authorization: str | None
    content_type: str | None
    body: bytes | None

    def form(self) -> MultiDict[str, str]:
        """The form body: form-encoded, each parameter at most once (RFC 6749 §3.1, §3.2). A
        body that is not UTF-8 reads as empty, as Quart's form parser has it."""
        mimetype = parse_options_header(self.content_type)[0].lower()
        if mimetype != "application/x-www-form-urlencoded":
            raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
        if self.body is None:
            raise InvalidRequestError("the request body is too large")
        try:
            form = MultiDict(parse_qsl(self.body.decode(), keep_blank_values=True))
        except ValueError:
            form = MultiDict()
        if repeated := sorted(k for k in form if len(form.getlist(k)) > 1 and k not in REPEATABLE):
            raise InvalidRequestError(f"repeated parameter: {printable(', '.join(repeated))}")
        return form


async def back_channel_request() -> BackChannelRequest:
    """The current Quart request, read."""
    try:
        body: bytes | None = await request.get_data(True, False, False)
    except RequestEntityTooLarge:
        body = None
    return BackChannelRequest(
        request.path, request.headers.get("Authorization"), request.headers.get("Content-Type"),
        body,
    )


@dataclass(frozen=True)
class JsonAnswer:
    """A JSON answer: its status, body and headers (beyond Content-Type)."""

    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as Quart's `jsonify` writes it: compact, keys sorted, ASCII only."""
        return json.dumps(self.body, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def oauth_error_answer(error: OAuth2Error) -> JsonAnswer:
    """An OAuth error as JSON (RFC 6749 §5.2), with the error's own headers."""
    headers = {name: value for name, value in error.get_headers()
               if name.lower() != "content-type"}
    return JsonAnswer(dict(error.get_body()), error.status_code or 400, headers | NO_STORE)


def json_response(answer: JsonAnswer) -> Response:
    """`answer` as Quart's response."""
    return Response(answer.encoded(), status=answer.status, headers=answer.headers,
                    content_type="application/json")


async def read_form() -> MultiDict[str, str]:
    """The form body of the current Quart request (`BackChannelRequest.form`)."""
    return (await back_channel_request()).form()


def oauth_error_response(error: OAuth2Error) -> Response:
    """An OAuth error as JSON (RFC 6749 §5.2), with the error's own headers."""
    return json_response(oauth_error_answer(error))
