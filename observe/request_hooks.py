"""Per-request hooks: the request id at the start; metrics, the access log line and the
`X-Request-Id` response header at the end."""

from __future__ import annotations

import time

from quart import Response, g, request

from observe.logs import REQUEST_ID_HEADER, log_access, new_request_id, request_id
from observe.metrics import UNMATCHED, count_request, method_label

QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes


async def begin_request() -> None:
    g.started = time.perf_counter()
    request_id.set(new_request_id(request.headers.get(REQUEST_ID_HEADER)))


async def end_request(response: Response) -> Response:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    count_request(request.method, route, response.status_code, seconds)
    log_access(
        method_label(request.method), route, response.status_code,
        seconds * 1000, quiet=route in QUIET_ROUTES,
    )
    rid = request_id.get()
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid
    return response
