"""Logging: text or JSON lines, each carrying the id of the request it belongs to.

A request's id comes from its `X-Request-Id` header when that is short and plain (a load balancer
or a client that numbers its requests), else it is made here; it goes back in the response's
`X-Request-Id`, so a person's complaint, the access log and the audit stream meet on one value.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal, TextIO

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
    # Unique, not secret (a client may choose its own), so not from the system's randomness, which
    # costs a system call per request. `random` is seeded from it, again in a forked child.
    return f"{random.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current request's, or "-" outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, "request_id", request_id.get() or "-")  # noqa: B010
        return True


class _GatehouseHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (and replaces when called again). It also writes
    the busiest lines (`log_line`) itself: the line its formatter would write for the record,
    without making the record, which costs more than the request the line is about."""

    def __init__(self, stream: TextIO, log_format: LogFormat) -> None:
        super().__init__(stream)
        self.json = log_format == "json"
        self._second, self._date = -1, ""

    def timestamp(self, now: float) -> str:
        """`logging.Formatter.formatTime` of a record made at `now` (its default format, local
        time), the date and time of day made once a second."""
        second = int(now)
        if second != self._second:
            self._date = time.strftime(logging.Formatter.default_time_format, time.localtime(now))
            self._second = second
        return f"{self._date},{int((now - second) * 1000):03d}"

    def write_line(self, name: str, level: int, message: str, fields: dict[str, Any]) -> None:
        level_name = logging.getLevelName(level)
        stamp, rid = self.timestamp(time.time()), request_id.get() or "-"
        if self.json:  # the fields in JsonFormatter's order: its own, then the record's extras
            line = json.dumps({"time": stamp, "process": _process[0], "level": level_name,
                               "logger": name, "message": message, "request_id": rid, **fields},
                              default=str)
        else:
            line = f"{stamp} {_process[0]} {level_name} {name} [{rid}]: {message}"
        try:
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(line + self.terminator)
                self.stream.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"name": name, "msg": message}))


_process = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _process.__setitem__(0, os.getpid()))


def log_line(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """Log `message` with `fields` (extras of the record: fields of a JSON line). Written by
    Gatehouse's handler directly when it is all the record would reach, else through `logger`."""
    if not logger.isEnabledFor(level):
        return
    handler = _sole_handler(logger, level)
    if handler is None:
        logger.log(level, "%s", message, extra=fields)
    else:
        handler.write_line(logger.name, level, message, fields)


def _sole_handler(logger: logging.Logger, level: int) -> _GatehouseHandler | None:
    """Gatehouse's handler, when a record of `logger` at `level` would reach it and nothing else:
    no other handler, no filter but the request id's, on the way up."""
    found: _GatehouseHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None or not isinstance(handler, _GatehouseHandler):
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if found is None or level < found.level or any(
        not isinstance(f, RequestIdFilter) for f in found.filters
    ):
        return None
    return found


def configure_logging(log_format: LogFormat = "text") -> None:
    """Log to stderr in `log_format`: Gatehouse's own loggers from INFO, others from WARNING."""
    handler = _GatehouseHandler(sys.stderr, log_format)
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
    level = logging.DEBUG if quiet else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    fields: dict[str, Any] = {"method": method, "route": route, "status": status,
                              "duration_ms": round(duration_ms, 1)}
    if path:
        fields["path"] = path
    log_line(access_log, level, f"{method} {path or route} {status} {duration_ms:.1f} ms", fields)
