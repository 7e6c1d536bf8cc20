"""The busiest lines (access and audit) are written by Gatehouse's handler without a log record:
each is exactly the line logging's own formatter writes for the record, in both formats, and
when anything else would see the record (another handler, a filter) it goes through logging."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from observe import configure_logging, logs
from observe.logs import access_log, log_line, request_id

FIELDS = {"method": "GET", "route": "/jwks", "status": 200, "duration_ms": 0.4}
MESSAGE = "GET /jwks 200 0.4 ms · é"


WHEN = 1_780_000_000.0625  # a record's time, the same for both ways


def gatehouse_handler() -> logging.StreamHandler:  # type: ignore[type-arg]
    return next(h for h in logging.getLogger().handlers if type(h).__name__ == "_GatehouseHandler")


@contextmanager
def alone() -> Iterator[None]:
    """Gatehouse's handler alone on the root logger: pytest's capture set aside."""
    root = logging.getLogger()
    before = root.handlers[:]
    root.handlers = [gatehouse_handler()]
    try:
        yield
    finally:
        root.handlers = before


@pytest.fixture(params=["text", "json"])
def stream(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """Gatehouse's handler in the format, writing to a string."""
    configure_logging(request.param)
    written = io.StringIO()
    gatehouse_handler().setStream(written)
    reset = request_id.set("rid-1")
    yield written
    request_id.reset(reset)
    configure_logging("text")


def through_logging() -> str:
    """The line logging writes for the same record at the same time."""
    handler = gatehouse_handler()
    record = access_log.makeRecord(access_log.name, logging.INFO, "", 0, "%s", (MESSAGE,), None,
                                   extra=FIELDS)
    record.created, record.msecs = WHEN, int((WHEN - int(WHEN)) * 1000) + 0.0
    handler.filter(record)
    return handler.format(record) + "\n"


def test_a_line_is_what_the_formatter_writes(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs.time, "time", lambda: WHEN)
    with alone():
        assert logs._sole_handler(access_log, logging.INFO) is gatehouse_handler()
        log_line(access_log, logging.INFO, MESSAGE, FIELDS)
    monkeypatch.undo()
    assert stream.getvalue() == through_logging()
    assert ",062 " in stream.getvalue() or '062"' in stream.getvalue()


def test_a_line_goes_through_logging_when_another_handler_listens(stream: io.StringIO) -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logging.getLogger("gatehouse").addHandler(keep)
    try:
        with alone():
            log_line(access_log, logging.INFO, MESSAGE, FIELDS)
    finally:
        logging.getLogger("gatehouse").removeHandler(keep)
    assert [r.getMessage() for r in seen] == [MESSAGE]
    assert seen[0].__dict__["route"] == "/jwks" and len(stream.getvalue().splitlines()) == 1


def test_a_level_turned_off_writes_nothing(stream: io.StringIO) -> None:
    with alone():
        log_line(access_log, logging.DEBUG, MESSAGE, FIELDS)
    assert stream.getvalue() == ""
