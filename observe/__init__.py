"""Observability: health checks, Prometheus metrics, structured logs with a request id, and the
audit trail.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from observe.audit_trail import AuditKind, audit, configure_audit, request_address
from observe.health import Ping, health_blueprint
from observe.logs import (
    REQUEST_ID_HEADER,
    configure_logging,
    log_access,
    new_request_id,
    request_id,
)
from observe.metrics import (
    MULTIPROC_ENV,
    count_directory_outage,
    count_head_timeout,
    count_request,
    count_sign_in,
    count_step,
    count_throttled,
    count_token,
    metrics_blueprint,
)
from observe.request_hooks import QUIET_ROUTES, begin_request, end_request

__all__ = [
    "AuditKind",
    "MULTIPROC_ENV",
    "Ping",
    "QUIET_ROUTES",
    "REQUEST_ID_HEADER",
    "audit",
    "begin_request",
    "configure_audit",
    "configure_logging",
    "count_head_timeout",
    "count_request",
    "count_sign_in",
    "count_step",
    "count_directory_outage",
    "count_throttled",
    "count_token",
    "end_request",
    "health_blueprint",
    "log_access",
    "metrics_blueprint",
    "new_request_id",
    "request_address",
    "request_id",
]
