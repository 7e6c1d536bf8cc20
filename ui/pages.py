"""Rendering pages, and the designed pages for errors (never a stack trace)."""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, render_template
from werkzeug.exceptions import HTTPException

from oidc.errors import ErrorPage
from store.records import ClientRecord
from ui.i18n import choose_locale, current_locale, set_locale
from ui.messages import N_

log = logging.getLogger("gatehouse.ui")


def branding(client: ClientRecord | None) -> dict[str, Any]:
    """What a page shows of the client: name, logo and links (RFC 7591 metadata)."""
    if client is None:
        return {}
    return {
        "name": client.client_name or client.client_id,
        "logo_uri": client.logo_uri if (client.logo_uri or "").startswith("https://") else None,
        "policy_uri": client.policy_uri,
        "tos_uri": client.tos_uri,
    }


async def render_page(
    template: str,
    *,
    status: int = 200,
    client: ClientRecord | None = None,
    ui_locales: str | None = None,
    **values: Any,
) -> Response:
    set_locale(choose_locale(ui_locales))
    html = await render_template(
        template, client=branding(client), locale=current_locale(), **values
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


async def error_page(
    title: str, message: str, status: int, link: tuple[str, str] | None = None
) -> Response:
    return await render_page(
        "error.html", status=status, title=title, message=message, link=link
    )


def register_error_pages(app: Quart) -> None:
    @app.errorhandler(ErrorPage)
    async def on_error_page(error: ErrorPage) -> Response:
        return await error_page(error.title, error.message, error.status, error.link)

    @app.errorhandler(HTTPException)
    async def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        title = {
            404: N_("Page not found"),
            405: N_("Method not allowed"),
            413: N_("Request too large"),
        }.get(status, N_("Something went wrong"))
        return await error_page(title, N_("Check the address, or go back and try again."), status)

    @app.errorhandler(Exception)
    async def on_unexpected(error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return await error_page(
            N_("Something went wrong"), N_("Please try again in a moment."), 500
        )
