"""Prometheus metrics, and `GET /metrics` in the text exposition format.

Labels hold only bounded values: a route is its template (`/flow/<run_id>`), never the path;
flows and steps come from flows.yaml. Under `gatehouse serve --workers N` every worker writes its
numbers to files in `PROMETHEUS_MULTIPROC_DIR`, and a scrape of any worker adds them all up.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from quart import Blueprint, Response, request

from core import same_secret

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# Audit events that are sign-ins, by the outcome `gatehouse_sign_ins_total` counts them under.
SIGN_IN_EVENTS = {"sign_in": "success", "sign_in_failed": "failed"}

# A `_created` series beside each counter would double the series for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Its `_count` series is the number of requests answered: no separate counter is kept.
HTTP_DURATION = Histogram(
    "gatehouse_http_request_duration_seconds", "Time to answer an HTTP request.",
    ["method", "route", "status"],
)
SIGN_INS = Counter(
    "gatehouse_sign_ins", "Sign-ins by outcome: success, failed (a wrong password or code),"
    " denied (the flow said no), error (the flow could not go on).", ["outcome"],
)
FLOW_STEPS = Counter(
    "gatehouse_flow_step_outcomes", "Outcomes of flow steps.", ["flow", "step", "outcome"]
)
THROTTLED = Counter(
    "gatehouse_throttled", "Guesses refused because too many were wrong.", ["kind", "scope"]
)
TOKENS = Counter("gatehouse_tokens_issued", "Token responses by grant type.", ["grant_type"])
AUDIT_EVENTS = Counter("gatehouse_audit_events", "Audit events by kind.", ["kind"])
DIRECTORY_OUTAGES = Counter(
    "gatehouse_directory_unavailable", "Sign-ins a user directory could not answer (down, timed"
    " out, refused the service account).", ["directory"],
)
HEAD_TIMEOUTS = Counter(
    "gatehouse_http_head_timeouts", "Connections closed because a request head was not complete"
    " within header_timeout seconds.",
)


def method_label(method: str) -> str:
    """The method, or "other" for one outside HTTP's usual few (any token is allowed)."""
    return method if method in METHODS else "other"


# Series by their labels, which are bounded (a method outside the usual few is "other"; grant
# types, audit kinds, flows, steps and outcomes are Gatehouse's own): `labels()` takes a lock and
# checks its values, once per series here.
_series: dict[tuple[object, tuple[str, ...]], Any] = {}


def series(metric: Any, *labels: str) -> Any:
    """The child of `metric` for `labels`, looked up once."""
    key = (metric, labels)
    child = _series.get(key)
    if child is None:
        child = _series[key] = metric.labels(*labels)
    return child


def count_request(method: str, route: str | None, status: int, seconds: float) -> None:
    series(HTTP_DURATION, method_label(method), route or UNMATCHED, str(status)).observe(seconds)


def count_sign_in(outcome: str) -> None:
    series(SIGN_INS, outcome).inc()


def count_step(flow: str, step: str, outcome: str) -> None:
    series(FLOW_STEPS, flow, step, outcome).inc()


def count_throttled(kind: str, scope: str) -> None:
    """A guess refused: `kind` of guess (password, totp...), `scope` account or ip."""
    series(THROTTLED, kind, scope).inc()


def count_token(grant_type: str) -> None:
    series(TOKENS, grant_type).inc()


def count_directory_outage(directory: str) -> None:
    series(DIRECTORY_OUTAGES, directory).inc()


def count_head_timeout() -> None:
    HEAD_TIMEOUTS.inc()


def count_audit_event(kind: str) -> None:
    series(AUDIT_EVENTS, kind).inc()
    if kind in SIGN_IN_EVENTS:
        count_sign_in(SIGN_IN_EVENTS[kind])


def exposition(accept: str) -> tuple[bytes, str]:
    """The metrics of this process, or of every worker's in multiprocess mode; the encoding
    the scraper accepts (the classic text format unless it asks for OpenMetrics)."""
    encoder, content_type = choose_encoder(accept)
    if MULTIPROC_ENV not in os.environ:
        return encoder(REGISTRY), content_type
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return encoder(registry), content_type


def metrics_blueprint(token: str | None) -> Blueprint:
    """`GET /metrics`; with `token`, only for `Authorization: Bearer <token>`."""
    blueprint = Blueprint("metrics", __name__)
    expected = f"Bearer {token}" if token else None

    @blueprint.get("/metrics")
    async def metrics() -> Response:
        if expected is not None and not same_secret(
            request.headers.get("Authorization", ""), expected
        ):
            return Response(
                "unauthorized\n", status=401, content_type="text/plain; charset=utf-8",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        # Reading every worker's files is file I/O: keep it off the event loop.
        body, content_type = await asyncio.to_thread(
            exposition, request.headers.get("Accept", "")
        )
        return Response(body, content_type=content_type)

    return blueprint
