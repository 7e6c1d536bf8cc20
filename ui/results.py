"""The one adapter from the results protocol code returns (`oidc.results`) to HTTP responses."""

from __future__ import annotations

from typing import assert_never

from quart import Quart, Response

from oidc import RESPOND_KEY, FormPost, PageResult, Redirect, Result, see_other
from ui.pages import render_page


async def respond(result: Result) -> Response:
    """The response for `result`, with the cookies it carries."""
    response: Response
    match result:
        case Redirect():
            response = see_other(result.location)
        case FormPost():
            response = await render_page(
                "form_post.html", redirect_uri=result.redirect_uri, fields=result.fields
            )
        case PageResult():
            response = await render_page(result.template, status=result.status, **result.context)
        case _:
            assert_never(result)
    for change in result.cookies:
        change.apply(response)
    return response


def install_results(app: Quart) -> None:
    """Make `respond` the adapter that oidc's views answer through (`oidc.results.answering`)."""
    app.extensions[RESPOND_KEY] = respond
