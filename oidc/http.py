"""Small HTTP helpers the endpoints share, and the framework-free shape of a back-channel
request and its JSON answer (served by Quart, or by the server's fast path)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlencode

from quart import Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

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
REPEATABLE = frozenset({"resource", "audience"})  # RFC 8707, RFC 8693 §2.1


@dataclass(frozen=True)
class BackChannelRequest:
    """What a back-channel endpoint reads of a request: its path, `Authorization` header,
    `Content-Type` and body (None when it was over `max_request_bytes` and not read)."""

    path: str
    authorization: str | None
    content_type: str | None
    body: bytes | None
    dpop: str | None = None  # the DPoP proof (RFC 9449); "" when the header came more than once

    def form(self) -> MultiDict[str, str]:
        """The form body: form-encoded, each parameter at most once (RFC 6749 §3.1, §3.2). A
        body that is not UTF-8 reads as empty, as Quart's form parser has it."""
        mimetype = (self.content_type or "").partition(";")[0].strip().lower()
        if mimetype != "application/x-www-form-urlencoded":
            raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
        if self.body is None:
            raise InvalidRequestError("the request body is too large")
        try:
            pairs = parse_qsl(self.body.decode(), keep_blank_values=True)
        except ValueError:
            pairs = []
        form = MultiDict(pairs)
        if len(form) < len(pairs) and (repeated := sorted(
            k for k in form if len(form.getlist(k)) > 1 and k not in REPEATABLE
        )):
            raise InvalidRequestError(f"repeated parameter: {printable(', '.join(repeated))}")
        return form


async def back_channel_request() -> BackChannelRequest:
    """The current Quart request, read."""
    try:
        body: bytes | None = await request.get_data(True, False, False)
    except RequestEntityTooLarge:
        body = None
    proofs = request.headers.getlist("DPoP")
    return BackChannelRequest(
        request.path, request.headers.get("Authorization"), request.headers.get("Content-Type"),
        body, proofs[0] if len(proofs) == 1 else ("" if proofs else None),
    )


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as bytes: its status, body and headers (Content-Type among them)."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class JsonAnswer:
    """A JSON answer: its status, body and headers (beyond Content-Type)."""

    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as Quart's `jsonify` writes it: compact, keys sorted, ASCII only."""
        return json.dumps(self.body, separators=(",", ":"), sort_keys=True).encode() + b"\n"

    def answer(self) -> Answer:
        return Answer(self.status, self.encoded(), {"Content-Type": JSON, **self.headers})


JSON = "application/json"
# Documents every client reads, the same for all (RFC 9111 §5.2.2.9, §5.2.2.10).
DOCUMENT_CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class Document:
    """A JSON document served as the same bytes to everyone, with its entity tag."""

    body: bytes
    etag: str
    content_type: str

    @classmethod
    def of(cls, content: dict[str, Any], content_type: str = JSON) -> Document:
        body = JsonAnswer(content).encoded()
        tag = base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:18]).decode()
        return cls(body, f'"{tag}"', content_type)

    def answer(self, if_none_match: str | None) -> Answer:
        """200 with the document, or 304 when the client holds this version (RFC 9110 §13.1.2,
        §15.4.5: a 304 repeats ETag and Cache-Control). The same two answers every time."""
        if if_none_match is not None and self._matches(if_none_match):
            return self._not_modified
        return self._ok

    @cached_property
    def _ok(self) -> Answer:
        return Answer(200, self.body, {"Content-Type": self.content_type,
                                       "ETag": self.etag, "Cache-Control": DOCUMENT_CACHE_CONTROL})

    @cached_property
    def _not_modified(self) -> Answer:
        return Answer(304, b"", {"ETag": self.etag, "Cache-Control": DOCUMENT_CACHE_CONTROL})

    def _matches(self, if_none_match: str) -> bool:
        """If-None-Match compares weakly: a W/ prefix does not matter."""
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == self.etag for tag in tags)


class DocumentCache:
    """Documents encoded once, and again only when their `version` changes."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[Hashable, Document]] = {}

    def get(
        self, name: str, version: Hashable, content: Callable[[], dict[str, Any]],
        content_type: str = JSON,
    ) -> Document:
        cached = self._documents.get(name)
        if cached is None or cached[0] != version:
            cached = (version, Document.of(content(), content_type))
            self._documents[name] = cached
        return cached[1]


def oauth_error_answer(error: OAuth2Error) -> JsonAnswer:
    """An OAuth error as JSON (RFC 6749 §5.2), with the error's own headers."""
    headers = {name: value for name, value in error.get_headers()
               if name.lower() != "content-type"}
    return JsonAnswer(dict(error.get_body()), error.status_code or 400, headers | NO_STORE)


def json_response(answer: JsonAnswer) -> Response:
    """`answer` as Quart's response."""
    return response_of(answer.answer())


def response_of(answer: Answer) -> Response:
    """`answer` as Quart's response."""
    return Response(answer.body, status=answer.status, headers=answer.headers)


def oauth_error_response(error: OAuth2Error) -> Response:
    """An OAuth error as JSON (RFC 6749 §5.2), with the error's own headers."""
    return json_response(oauth_error_answer(error))
