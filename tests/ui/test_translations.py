"""Every user-facing message has a translation in every shipped catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from ui.i18n import TRANSLATIONS, available_locales

ROOT = Path(__file__).resolve().parents[2]


def message_ids() -> set[str]:
    found: set[str] = set()
    for folder in ("engine", "steps", "oidc", "ui", "admin"):
        for path in (ROOT / folder).rglob("*.py"):
            with path.open("rb") as handle:
                found |= {m[1] for m in extract("python", handle, keywords={"N_": None})}
    for path in [*(ROOT / "ui" / "templates").rglob("*.html"),
                 *(ROOT / "admin" / "templates").rglob("*.html")]:
        with path.open("rb") as handle:
            found |= {
                m[1] if isinstance(m[1], str) else m[1][0]
                for m in extract(babel_extract, handle, keywords={"_": None},
                                 options={"extensions": "jinja2.ext.i18n"})
            }
    return found | flows_texts(yaml.safe_load((ROOT / "flows.yaml").read_text()))


def flows_texts(node: object) -> set[str]:
    """The shipped flows.yaml's texts that pages show: labels, titles and deny messages."""
    if isinstance(node, dict):
        texts = {v for k, v in node.items() if k in ("label", "title", "message") and isinstance(v, str)}
        return texts.union(*(flows_texts(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(flows_texts(v) for v in node))
    return set()


def test_extraction_finds_the_messages() -> None:
    ids = message_ids()
    assert {"Incorrect username or password.", "Username or email", "Unknown application"} <= ids
    assert {"Use a recovery code", "The user did not allow access.", "Full name"} <= ids


@pytest.mark.parametrize("locale", [loc for loc in available_locales() if loc != "en"])
def test_every_message_is_translated(locale: str) -> None:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    translated = {m.id for m in catalog if m.id and m.string}
    assert sorted(message_ids() - translated) == []


def test_french_is_shipped() -> None:
    assert set(available_locales()) >= {"en", "fr"}
