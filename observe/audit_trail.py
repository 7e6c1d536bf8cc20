"""The audit stream: security events, each written to the store and logged as one line.

The line is written first and is the copy that cannot be lost: if the store refuses the record,
the failure is logged at error level and the request goes on. A sign-in that worked, or a token
that was issued, is not undone because its record could not be kept; the log still holds it.
Never put a secret (password, code, token) in an event.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from contextvars import ContextVar
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
    "client_secret_rotated", "client_tokens_revoked", "key_rotated",
]
DEFAULT_RETENTION = 90 * 24 * 3600

log = logging.getLogger("gatehouse.audit")
# The client address of the request being answered, set where the request comes in.
request_address: ContextVar[str | None] = ContextVar("gatehouse_request_address", default=None)
_retention = DEFAULT_RETENTION


def configure_audit(retention: int) -> None:
    """Keep the records of this process's events `retention` seconds."""
    global _retention
    _retention = retention


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
    count_audit_event(kind)
    if log_only:
        return
    try:
        await store.audit.add(AuditRecord.model_validate({**event, "expires_at": now + _retention}))
    except Exception:
        log.exception("audit event %s %s was logged but not stored", kind, event["id"])
