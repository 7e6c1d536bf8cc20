"""Logging: text or JSON lines, each carrying the id of the request it belongs to.

A request's id comes from its `X-Request-Id` header when that is short and plain (a load balancer
or a client that numbers its requests), else it is made here; it goes back in the response's
`X-Request-Id`, so a person's complaint, the access log and the audit stream meet on one value.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
REQUEST_ID_HEADER = "X-Request-Id"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("asctime", "process", "levelname", "name", "message", "request_id")
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger"}

request_id: ContextVar[str | None] = ContextVar("gatehouse_request_id", default=None)
access_log = logging.getLogger("gatehouse.access")


def new_request_id(offered: str | None) -> str:
    """The offered id when it is safe to repeat in logs and headers, else a fresh one."""
    if offered is not None and SAFE_REQUEST_ID.fullmatch(offered):
        return offered
    return secrets.token_hex(16)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current request's, or "-" outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, "request_id", request_id.get() or "-")  # noqa: B010
        return True


class _GatehouseHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (and replaces when called again)."""


def configure_logging(log_format: LogFormat = "text") -> None:
    """Log to stderr in `log_format`: Gatehouse's own loggers from INFO, others from WARNING."""
    handler = _GatehouseHandler(sys.stderr)
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(list(JSON_FIELDS), rename_fields=JSON_NAMES)
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    # Neither format names a thread or the caller's file and line: do not look them up for
    # every record (the logging HOWTO, "Optimization").
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _GatehouseHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("gatehouse").setLevel(logging.INFO)


def log_access(
    method: str, route: str, status: int, duration_ms: float, quiet: bool = False,
    path: str | None = None,
) -> None:
    """One line per request; `quiet` ones (health checks, scrapes) only at DEBUG. A request no
    route took has its `path` in the line instead of the route."""
    access_log.log(
        logging.DEBUG if quiet else logging.INFO,
        "%s %s %d %.1f ms", method, path or route, status, duration_ms,
        extra={"method": method, "route": route, "status": status,
               "duration_ms": round(duration_ms, 1), **({"path": path} if path else {})},
    )
