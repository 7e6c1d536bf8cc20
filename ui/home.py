"""The server's own front door: a landing page at `/`, and the icon browsers ask for."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, send_from_directory

from ui.pages import render_page

blueprint = Blueprint("home", __name__)
ICON_MAX_AGE = 24 * 3600


@blueprint.get("/")
async def landing() -> Response:
    """Where a person lands who types the server's address: their account, the demo when it is
    served, and the discovery document for developers."""
    return await render_page("home.html", demo="demo" in current_app.blueprints)


@blueprint.get("/favicon.ico")
async def favicon() -> Response:
    assert current_app.static_folder is not None  # create_app always sets it
    response = await send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon"
    )
    response.cache_control.public = True
    response.cache_control.max_age = ICON_MAX_AGE
    return response
