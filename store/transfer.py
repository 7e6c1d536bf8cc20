"""Moving data between stores (embedded → MongoDB): every live document as a JSON line.

A line is `{"collection": NAME, "document": {...}}`. Importing adds documents whose id the target
does not have and leaves the others as they are, so running an import twice changes nothing and an
old file never undoes what happened since (a revoked grant, a used refresh token, a new password);
a document whose unique key (a username, an email) belongs to another document is reported.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from store.errors import DuplicateError
from store.repositories import Store


async def export_lines(store: Store, now: float) -> AsyncIterator[str]:
    """Every unexpired document of every collection."""
    for name, docs in store.collections.items():
        for doc in await docs.all():
            if getattr(doc, "expires_at", now + 1) > now:
                yield json.dumps({"collection": name, "document": doc.model_dump(mode="json")})


@dataclass
class ImportReport:
    imported: Counter[str] = field(default_factory=Counter)
    present: int = 0  # ids the target already had: left as they are
    expired: int = 0
    problems: list[str] = field(default_factory=list)


async def import_lines(
    store: Store, lines: Iterable[str], now: float, dry_run: bool = False
) -> ImportReport:
    """Check every line, and store the good ones unless `dry_run`."""
    report = ImportReport()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            docs = store.collections[entry["collection"]]
            doc = docs.model.model_validate(entry["document"])
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            report.problems.append(f"line {number}: {type(exc).__name__}: {exc}")
            continue
        if getattr(doc, "expires_at", now + 1) <= now:
            report.expired += 1
            continue
        try:
            if dry_run:
                added = await docs.get(getattr(doc, docs.id_field)) is None
            else:
                added = await docs.insert_if_absent(doc)
        except (DuplicateError, ValueError, OverflowError) as exc:
            report.problems.append(f"line {number}: {docs.name}: {exc}")
            continue
        if added:
            report.imported[docs.name] += 1
        else:
            report.present += 1
    return report
