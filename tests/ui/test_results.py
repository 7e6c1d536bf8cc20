"""The adapter from the results of protocol code to responses."""

from __future__ import annotations

from oidc.http import see_other
from oidc.results import Redirect
from ui.results import respond


async def test_a_result_hands_its_cookies_to_its_response_as_set_on_a_response() -> None:
    location = "https://app.example/cb?code=c"
    result, direct = Redirect(location), see_other(location)
    for jar in (result, direct):
        jar.set_cookie("gh_session", "v", max_age=60, path="/", secure=True, httponly=True,
                       samesite="Lax")
        jar.delete_cookie("gh_device", path="/", secure=True, httponly=True, samesite="Lax")
    response = await respond(result)
    assert (response.status_code, response.headers["Location"]) == (303, location)
    assert response.headers.getlist("Set-Cookie") == direct.headers.getlist("Set-Cookie")
    assert len(response.headers.getlist("Set-Cookie")) == 2
