"""Per-request hooks: the request id at the start; metrics, the access log line and the
`X-Request-Id` response header at the end."""

from __future__ import annotations

import time
from urllib.parse import quote

from quart import Response, g, request

from observe.audit_trail import request_address
from observe.logs import REQUEST_ID_HEADER, log_access, new_request_id, request_id
from observe.metrics import UNMATCHED, count_request, method_label

QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes
MAX_LOGGED_PATH = 200
# Kept as sent; anything else (spaces, control characters, non-ASCII) is %-escaped for the log.
PATH_SAFE = "/:@!$&'()*+,;=-._~%"


async def begin_request() -> None:
    g.started = time.perf_counter()
    request_id.set(new_request_id(request.headers.get(REQUEST_ID_HEADER)))
    request_address.set(request.remote_addr)


async def end_request(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    count_request(request.method, route, response.status_code, seconds)
    log_access(
        method_label(request.method), route, response.status_code,
        seconds * 1000, quiet=route in QUIET_ROUTES,
        path=unmatched_path() if request.url_rule is None else None,
    )
    rid = request_id.get()
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid
    return response


def unmatched_path() -> str:
    """The path of a request no route took, for the log: as sent, without the query string
    (which may carry codes or tokens), escaped and shortened."""
    raw = request.scope.get("raw_path") or request.path.encode()
    return quote(raw, safe=PATH_SAFE)[:MAX_LOGGED_PATH]
