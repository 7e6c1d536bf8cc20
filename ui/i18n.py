"""Translations: gettext catalogs under ui/translations, compiled in memory at start-up.

The locale of a page comes from the authorize request's `ui_locales` when there is one, then the
browser's Accept-Language, then English.
"""

from __future__ import annotations

import gettext
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from quart import g, has_app_context, request

TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_LOCALE = "en"


@lru_cache(maxsize=1)
def catalogs() -> dict[str, gettext.NullTranslations]:
    """English (the message ids themselves) plus every catalog shipped in ui/translations."""
    found: dict[str, gettext.NullTranslations] = {DEFAULT_LOCALE: gettext.NullTranslations()}
    for po_file in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        locale = po_file.parent.parent.name
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        compiled = BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        found[locale] = gettext.GNUTranslations(compiled)
    return found


def available_locales() -> list[str]:
    return list(catalogs())


def choose_locale(ui_locales: str | None) -> str:
    """The best locale for this request: `ui_locales` first (OIDC Core §3.1.2.1), then the
    Accept-Language header."""
    available = available_locales()
    for tag in (ui_locales or "").split():
        language = tag.split("-")[0].lower()
        if language in available:
            return language
    best = request.accept_languages.best_match(available)
    return best or DEFAULT_LOCALE


def set_locale(locale: str) -> None:
    g.locale = locale


def current_locale() -> str:
    if not has_app_context():  # rendering outside a request (tests of templates)
        return DEFAULT_LOCALE
    return str(getattr(g, "locale", None) or DEFAULT_LOCALE)


def translate(message: str, **variables: Any) -> str:
    text = catalogs().get(current_locale(), catalogs()[DEFAULT_LOCALE]).gettext(message)
    return text % variables if variables else text


def translate_plural(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = (
        catalogs().get(current_locale(), catalogs()[DEFAULT_LOCALE]).ngettext(singular, plural, n)
    )
    return text % {"num": n, **variables}


def install_translations(env: Any) -> None:
    """Give a Jinja environment `_()` and `ngettext()` for the catalogs' messages, and the `tr`
    filter for texts written in configuration (flows.yaml labels and messages): translated when
    a catalog has them, and always escaped, never %-formatted."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(translate, translate_plural, newstyle=True)
    env.filters["tr"] = translate
    env.filters["date"] = local_date
    env.filters["datetime"] = local_datetime
    env.filters["duration"] = local_duration


def local_date(timestamp: float) -> str:
    """A Unix time as a date in the page's language (e.g. "25 Nov 2026")."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return format_date(moment, format="medium", locale=current_locale())


def local_datetime(timestamp: float) -> str:
    """A Unix time as a date and time (UTC) in the page's language (e.g. "25 Nov 2026, 14:05")."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return format_datetime(moment, format="medium", tzinfo=UTC, locale=current_locale()) + " UTC"


def local_duration(seconds: float) -> str:
    """A wait in the page's language, rounded up to a whole unit ("2 minutes", "45 secondes")."""
    return format_timedelta(
        timedelta(seconds=max(seconds, 1)), threshold=1.5, locale=current_locale()
    )
