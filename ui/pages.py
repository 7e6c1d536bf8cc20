"""Rendering pages, and the designed pages for errors (never a stack trace)."""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from core import N_, ErrorPage
from store import ClientRecord, StoreUnavailableError
from ui.i18n import choose_locale, current_locale, set_locale

log = logging.getLogger("gatehouse.ui")
RETRY_AFTER_SECONDS = 5
# Endpoints that machines call answer in JSON; the others are pages people see.
API_PATHS = ("/token", "/userinfo", "/introspect", "/revoke", "/jwks", "/.well-known/")


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
        response = await error_page(error.title, error.message, error.status, error.link)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    async def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        title = {
            404: N_("Page not found"),
            405: N_("Method not allowed"),
            413: N_("Request too large"),
        }.get(status, N_("Something went wrong"))
        response = await error_page(
            title, N_("Check the address, or go back and try again."), status
        )
        if allow := dict(error.get_headers()).get("Allow"):
            response.headers["Allow"] = allow  # RFC 9110 §15.5.6: a 405 names what is allowed
        return response

    @app.errorhandler(StoreUnavailableError)
    async def on_store_unavailable(error: StoreUnavailableError) -> Response:
        """Each store write is atomic on its own, so the request can be sent again once the store
        is back (a code or refresh token redeemed just before the outage stays used)."""
        log.warning("store unavailable: %s", error)
        if request.path.startswith(API_PATHS):
            response = jsonify(
                error="temporarily_unavailable",
                error_description="The service is busy; try again shortly.",
            )
            response.status_code = 503
            response.headers["Cache-Control"] = "no-store"
        else:
            response = await error_page(
                N_("We will be right back"),
                N_("Signing in is briefly unavailable. Try again in a few seconds."),
                503,
            )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    async def on_unexpected(error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return await error_page(
            N_("Something went wrong"), N_("Please try again in a moment."), 500
        )
