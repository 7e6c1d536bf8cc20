"""The audit stream: security events, each written to the store and logged as one line.

The line is written first and is the copy that cannot be lost: if the store refuses the record,
the failure is logged at error level and the request goes on. A sign-in that worked, or a token
that was issued, is not undone because its record could not be kept; the log still holds it.
Never put a secret (password, code, token) in an event.

Operators who keep their trail elsewhere stream each event out as one JSON line, to a file of its
own (appended to by every process, reopened when logrotate moves it) or to standard output, and
keep fewer in the store (`audit_retention`; 0 keeps none there).
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
from contextvars import ContextVar
from logging.handlers import WatchedFileHandler
from pathlib import Path
from typing import Any, Literal

from quart import has_request_context, request

from observe.logs import log_line, request_id
from observe.metrics import count_audit_event
from store import AuditRecord, Store

AuditKind = Literal[
    "sign_in", "sign_in_failed", "throttled", "mfa_changed", "token_issued", "logout",
    "session_ended", "identity_linked", "identity_unlinked", "unlocked", "password_reset",
    "password_reset_link_used",
    "device_allowed", "device_refused", "client_registered", "client_updated", "client_deleted",
    # changes an administrator makes (their `by` detail names who: client:..., user:..., cli:...)
    "user_created", "user_updated", "user_disabled", "user_enabled", "user_deleted",
    "password_set", "password_reset_sent", "password_reset_cancelled", "consent_revoked",
    "grant_revoked", "client_created",
    "client_secret_rotated", "client_tokens_revoked", "key_rotated", "directory_synced",
]
DEFAULT_RETENTION = 90 * 24 * 3600

log = logging.getLogger("gatehouse.audit")
stream = logging.getLogger("gatehouse.audit.stream")  # the JSON lines alone, where configured
stream.propagate = False
# The client address of the request being answered, set where the request comes in.
request_address: ContextVar[str | None] = ContextVar("gatehouse_request_address", default=None)
_retention = DEFAULT_RETENTION


def configure_audit(retention: int, stream_to: str | None = None) -> None:
    """Keep the records of this process's events `retention` seconds (0: none), and write each
    event as a JSON line to the file `stream_to` ("-": standard output), if given."""
    global _retention
    _retention = retention
    for handler in stream.handlers[:]:
        stream.removeHandler(handler)
        handler.close()
    if stream_to:
        if stream_to != "-":
            Path(stream_to).touch(mode=0o600)  # names and addresses: for its owner only
        handler = (logging.StreamHandler(sys.stdout) if stream_to == "-"
                   else WatchedFileHandler(stream_to, encoding="utf-8"))
        handler.setFormatter(logging.Formatter("%(message)s"))
        stream.addHandler(handler)
        stream.setLevel(logging.INFO)


async def audit(
    store: Store,
    kind: AuditKind,
    *,
    subject: str | None = None,
    client_id: str | None = None,
    address: str | None = None,
    log_only: bool = False,
    **details: Any,
) -> None:
    """Record an event of `kind`; `address` defaults to the current request's client address,
    and the request id is the current request's. `details` must be JSON values. `log_only`: the
    log line alone, for events that come at machine rate."""
    now = time.time()
    if address is None:
        address = request_address.get()
    if address is None and has_request_context():
        address = request.remote_addr
    event = {
        "id": secrets.token_urlsafe(16), "at": now, "kind": kind, "subject": subject,
        "client_id": client_id, "address": address, "request_id": request_id.get(),
        "details": details,
    }
    log_line(log, logging.INFO, f"{kind} subject={subject} client_id={client_id} address={address}"
                                f" {json.dumps(details, sort_keys=True, default=str)}",
             {"audit": event})
    if stream.handlers:
        stream.info(json.dumps(event, default=str))
    count_audit_event(kind)
    if log_only or not _retention:
        return
    try:
        await store.audit.add(AuditRecord.model_validate({**event, "expires_at": now + _retention}))
    except Exception:
        log.exception("audit event %s %s was logged but not stored", kind, event["id"])
