"""A custom step in a package of its own, outside Gatehouse's tree, that ships its own page in a
`templates/` folder beside its module and reads what it may know of the browser (its device and
languages, and whether the user signed in with it before): `gatehouse flows check` passes, a
person signs in through it, and a step whose template is missing is refused by the check and at
start-up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from playwright.async_api import Browser, Route, expect

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, RunningServer, gatehouse, start_server
from tests.e2e.tokens import CALLBACK

ROOT = Path(__file__).resolve().parents[2]
STEP = '''\
from collections.abc import Mapping

from steps import Outcome, Page, Step, StepContext


class GreetingStep(Step):
    """After the password: a welcome page of the company's own."""

    type = "acme_greeting"
    outcomes = frozenset({"success"})
    optional_outcomes = {}
    template = "acme/greeting.html"

    async def render(self, ctx: StepContext) -> Page | Outcome:
        user = await ctx.user()
        browser = ctx.browser
        return Page(self.template, {
            "name": user.username if user else "",
            "before": bool(user and browser.signed_in_before(user.id)),
            "browser": browser.device.browser, "language": ",".join(browser.languages),
        })

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        return Outcome("success")


class PagelessStep(GreetingStep):
    type = "acme_pageless"
    template = "acme/nowhere.html"
'''
PAGE = '''\
{% extends "base.html" %}
{% block heading %}Welcome back{% endblock %}
{% block content %}
<form method="post" action="{{ action }}">
  {% include "flow/_hidden.html" %}
  <p class="message">Hello {{ values.name }}, from Acme.</p>
  <p>{% if values.before %}You signed in here before{% else %}First sign-in here{% endif %},
     with {{ values.browser }} in {{ values.language }}.</p>
  <button type="submit">Continue</button>
</form>
{% endblock %}
'''
FLOW = """
  greeting:
    steps:
      identify:
        type: identify
        on:
          success: password
      password:
        type: password
        on:
          success: greet
      greet:
        type: acme_steps.greeting:{step}
        on:
          success: done
"""
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid",
}))


def flows_file(folder: Path, step: str) -> Path:
    shipped = (ROOT / "flows.yaml").read_text()  # its last key is `flows:`
    path = folder / f"flows-{step}.yaml"
    path.write_text(shipped.replace("default_flow: default", "default_flow: greeting", 1)
                    + FLOW.format(step=step))
    return path


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """acme_steps, importable by the servers and commands this module starts."""
    root = tmp_path_factory.mktemp("acme")
    (root / "acme_steps" / "templates" / "acme").mkdir(parents=True)
    (root / "acme_steps" / "__init__.py").write_text("")
    (root / "acme_steps" / "greeting.py").write_text(STEP)
    (root / "acme_steps" / "templates" / "acme" / "greeting.html").write_text(PAGE)
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), before]))
    yield root
    if before is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def server(package: Path) -> Iterator[RunningServer]:
    running = start_server(package, flows_file=flows_file(package, "GreetingStep"))
    yield running
    running.stop()


async def test_the_step_shows_its_own_page_in_a_sign_in(server: RunningServer) -> None:
    checked = gatehouse(server.config, "flows", "check")
    assert checked.returncode == 0, checked.stderr
    headers = {"User-Agent": FIREFOX, "Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"}
    async with FormBrowser(server.issuer, headers=headers) as web:
        page = await web.sign_in(AUTHORIZE, *ALICE)
        assert "Hello alice, from Acme." in page_text(page), page.text
        assert "First sign-in here, with Firefox in fr-CH,fr,en." in page_text(page)
        answer = await web.submit(page)
        target, params = redirect_params(answer)
        assert target == CALLBACK and "code" in params
        web.http.cookies.delete("gh_session")  # signed out; the browser stays the same
        page = await web.sign_in(AUTHORIZE, *ALICE)
        assert "You signed in here before" in page_text(page), page.text


def test_a_missing_template_fails_the_check_and_the_start(
    package: Path, tmp_path: Path
) -> None:
    flows = flows_file(package, "PagelessStep")
    checked = gatehouse(ROOT / "gatehouse.yaml", "flows", "check", str(flows))
    assert checked.returncode == 1
    assert "flow greeting, step greet (acme_steps.greeting:PagelessStep): its template" \
           " 'acme/nowhere.html' is in none of" in checked.stderr
    with pytest.raises(RuntimeError, match="acme/nowhere.html"):
        start_server(tmp_path, flows_file=flows)


async def test_a_person_signs_in_through_it_in_chromium(
    server: RunningServer, chromium: Browser
) -> None:
    """The custom page in a real browser, checked by axe like every Gatehouse page."""
    context = await chromium.new_context(locale="en-US")
    try:
        page = await context.new_page()
        arrived: list[str] = []

        async def client(route: Route) -> None:
            arrived.append(route.request.url)
            await route.fulfill(status=200, content_type="text/plain", body="signed in")

        await page.route(CALLBACK + "*", client)
        await page.goto(server.issuer + AUTHORIZE)
        await page.get_by_label("Username or email", exact=True).fill(ALICE[0])
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_label("Password", exact=True).fill(ALICE[1])
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
        await expect(page.get_by_text("Hello alice, from Acme.")).to_be_visible()
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_text("signed in")).to_be_visible()
        assert arrived and "code=" in arrived[0]
    finally:
        await context.close()
