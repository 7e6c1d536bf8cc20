"""Small HTTP helpers the endpoints share."""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Response, jsonify, request
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
REPEATABLE = frozenset({"resource"})


async def read_form() -> MultiDict[str, str]:
    """The form body of a back-channel request: form-encoded, each parameter at most once
    (RFC 6749 §3.1, §3.2)."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequestError("the body must be application/x-www-form-urlencoded")
    try:
        form = await request.form
    except RequestEntityTooLarge as exc:
        raise InvalidRequestError("the request body is too large") from exc
    if repeated := sorted(k for k in form if len(form.getlist(k)) > 1 and k not in REPEATABLE):
        raise InvalidRequestError(f"repeated parameter: {printable(', '.join(repeated))}")
    return form


def oauth_error_response(error: OAuth2Error) -> Response:
    """An OAuth error as JSON (RFC 6749 §5.2), with the error's own headers."""
    response = jsonify(dict(error.get_body()))
    response.status_code = error.status_code or 400
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers.update(NO_STORE)
    return response
