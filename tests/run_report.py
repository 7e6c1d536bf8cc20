"""What tests add to the end of a run's report: lines under headings. Under pytest-xdist each
worker sends its own to the controller (tests/conftest.py), which prints them all."""

from __future__ import annotations

from typing import Any

import pytest

# heading → {key: line}: a line noted again under the same key replaces the one before.
Sections = dict[str, dict[str, str]]
SECTIONS: Sections = {}


def note(heading: str, key: str, line: str) -> None:
    SECTIONS.setdefault(heading, {})[key] = line


def merge(sections: Any) -> None:
    """Add the sections a worker sent."""
    for heading, lines in (sections or {}).items():
        SECTIONS.setdefault(heading, {}).update(lines)


def write(terminalreporter: pytest.TerminalReporter) -> None:
    for heading, lines in SECTIONS.items():
        terminalreporter.section(heading)
        for line in lines.values():
            terminalreporter.write_line(line)
