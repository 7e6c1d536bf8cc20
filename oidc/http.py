"""Small HTTP helpers the endpoints share."""

from __future__ import annotations

from quart import Response, jsonify, request
from werkzeug.datastructures import MultiDict

from oidc.errors import InvalidRequestError, OAuth2Error

# RFC 6749 §5.1: responses with tokens or credentials must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


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
    form = await request.form
    if repeated := sorted(k for k in form if len(form.getlist(k)) > 1 and k not in REPEATABLE):
        raise InvalidRequestError(f"repeated parameter: {', '.join(repeated)}")
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
