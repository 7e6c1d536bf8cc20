"""The audit trail for an administrator: filtered and paged, or exported whole as JSON lines or
CSV (in pages from the store, so an export of months of events never sits in memory)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from oidc import Provider
from store import AuditRecord, Cursor

EXPORT_PAGE = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("id", "at", "kind", "subject", "client_id", "address", "request_id", "details")


def filters(
    subject: str | None = None, kind: str | None = None, client_id: str | None = None
) -> dict[str, str]:
    found = {"subject": subject, "kind": kind, "client_id": client_id}
    return {name: value for name, value in found.items() if value}


async def search(
    provider: Provider, equal: dict[str, str], since: float | None, until: float | None,
    limit: int, after: Cursor | None,
) -> list[AuditRecord]:
    return await provider.store.audit.search(
        provider.clock(), limit, equal, since=since, until=until, after=after
    )


async def export(
    provider: Provider, equal: dict[str, str], since: float | None, until: float | None,
    fmt: str,
) -> AsyncIterator[bytes]:
    """Every matching event, newest first, as lines of `fmt` (jsonl or csv, with a header)."""
    if fmt == "csv":
        yield _csv_line(CSV_COLUMNS)
    after: Cursor | None = None
    while True:
        page = await search(provider, equal, since, until, EXPORT_PAGE, after)
        for event in page:
            if fmt == "csv":
                row = event.model_dump()
                row["details"] = json.dumps(row["details"], sort_keys=True)
                yield _csv_line(tuple("" if row[c] is None else str(row[c]) for c in CSV_COLUMNS))
            else:
                yield event.model_dump_json().encode() + b"\n"
        if len(page) < EXPORT_PAGE:
            return
        after = provider.store.audit.cursor(page[-1])


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP "CSV injection"): events carry
    what people typed."""
    return "'" + value if value[:1] in FORMULA_STARTS else value


def _csv_line(values: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([_cell(v) for v in values])
    return out.getvalue().encode()
