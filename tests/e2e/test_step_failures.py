"""A step that fails at run time, over HTTP: the person gets the designed page, whose button
takes them back to the application with `error=server_error` and the request's `state`
(RFC 6749 §4.1.2.1), by redirect or form post, instead of a 500 that answers nobody."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import RunningServer, start_server
from tests.e2e.tokens import CALLBACK

ROOT = Path(__file__).resolve().parents[2]
BROKEN = """
  broken:
    steps:
      broken:
        type: tests.engine.fake_steps:BrokenStep
        on:
          success: done
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("step-failures")
    shipped = (ROOT / "flows.yaml").read_text()  # its last key is `flows:`
    broken = shipped.replace("default_flow: default", "default_flow: broken", 1) + BROKEN
    flows = workdir / "broken-flows.yaml"
    flows.write_text(broken)
    running = start_server(workdir, flows_file=flows)
    yield running
    running.stop()


def authorize(hint: str, mode: str = "query") -> str:
    return "/authorize?" + str(httpx2.QueryParams({
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid", "state": "st-1", "login_hint": hint, "response_mode": mode,
    }))


def back_link(page: httpx2.Response) -> dict[str, list[str]]:
    link = BeautifulSoup(page.text, "html.parser").find("a", string="Back to Gatehouse Demo")
    assert link is not None, page.text
    href = str(link["href"])
    assert href.startswith(CALLBACK + "?"), href
    return parse_qs(urlsplit(href).query)


@pytest.mark.parametrize("hint", ["fail-render", "no-template"])
async def test_a_failed_step_sends_the_person_back_with_server_error(
    server: RunningServer, hint: str
) -> None:
    async with FormBrowser(server.issuer) as web:
        page = await web.open(authorize(hint))
    assert page.status_code == 400 and "Sign-in cannot continue" in page_text(page)
    assert "Something went wrong on our side" in page_text(page)
    params = back_link(page)
    assert params["error"] == ["server_error"] and params["state"] == ["st-1"]
    assert params["iss"] == [server.issuer]


async def test_with_form_post_the_button_posts_the_error(server: RunningServer) -> None:
    async with FormBrowser(server.issuer) as web:
        page = await web.open(authorize("fail-render", "form_post"))
    form = BeautifulSoup(page.text, "html.parser").find("form", action=CALLBACK)
    assert form is not None, page.text
    fields = {i["name"]: i["value"] for i in form.find_all("input")}
    assert fields["error"] == "server_error" and fields["state"] == "st-1"
    assert "id" not in form.attrs  # the person presses it: it does not submit itself
