"""docs/admin.md lists every admin API endpoint with the scope it needs, and every image it
shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from admin.api import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")


def test_every_endpoint_is_listed_with_its_scope() -> None:
    for endpoint in ENDPOINTS:
        scope = "gatehouse:admin" if endpoint.writes else "either"
        row = f"| {endpoint.method} | `/admin/api{endpoint.path}` | {endpoint.summary} | {scope} |"
        assert row in DOC, row


def test_every_image_exists() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", DOC)
    assert len(images) >= 6
    for image in images:
        assert (ROOT / "docs" / image).is_file(), image
