"""docs/completions.md stays true: its example way in works when registered as it says, and the
completions it lists are those the server registers."""

from __future__ import annotations

import importlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from quart.typing import TestClientProtocol as Client
from werkzeug.wrappers import Response as WerkzeugResponse

from oidc.provider import EXTENSION_KEY, Provider
from server.app import create_app
from server.settings import ClientSettings, Settings
from store.records import UserRecord
from tests.docs.test_flows_doc import blocks, section

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "completions.md").read_text(encoding="utf-8")
PASSWORD = "a long passphrase"


@pytest.fixture
def welcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The example module, importable as `welcome_example`."""
    code = blocks(section(DOC, "Adding one"), "python")[0]
    (tmp_path / "welcome_example.py").write_text(code, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("welcome_example")
    monkeypatch.delitem(sys.modules, "welcome_example")


async def submit(client: Client, page: WerkzeugResponse, **form: str) -> WerkzeugResponse:
    html = await page.get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|_step)" value="([^"]+)"', html))
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action, html
    return await client.post(action.group(1), form={**fields, **form})


async def follow(client: Client, response: WerkzeugResponse) -> WerkzeugResponse:
    while response.status_code in (302, 303):
        response = await client.get(response.headers["location"])
    return response


async def test_the_example_way_in_signs_in_and_greets(welcome: object, tmp_path: Path) -> None:
    settings = Settings(
        issuer="http://localhost", store="sqlite://:memory:", flows_file=str(ROOT / "flows.yaml"),
        base_dir=tmp_path,
        clients=[ClientSettings(client_id="intranet", redirect_uris=["https://intra.example/cb"],
                                token_endpoint_auth_method="none")],
    )
    app = create_app(settings)
    app.register_blueprint(welcome.blueprint)  # type: ignore[attr-defined]
    async with app.test_app():
        provider: Provider = app.extensions[EXTENSION_KEY]
        provider.completions = {**provider.completions, "welcome": welcome.Welcome()}  # type: ignore[attr-defined]
        await provider.store.users.add(UserRecord(
            id="alice", username="alice", email_verified=True, created_at=time.time(),
            password_hash=await provider.engine.services.passwords.hash(PASSWORD),
        ))
        client = app.test_client()
        page = await follow(client, await client.get("/welcome"))
        page = await follow(client, await submit(client, page, login="alice"))
        signed_in = await submit(client, page, password=PASSWORD)
        while "gh_session=" not in signed_in.headers.get("set-cookie", ""):
            assert signed_in.status_code in (302, 303), await signed_in.get_data(as_text=True)
            signed_in = await client.get(signed_in.headers["location"])
        greeted = await follow(client, signed_in)
        assert await greeted.get_data(as_text=True) == "Welcome, alice!"
        again = await client.get("/welcome")  # on the SSO session: no page, answered at once
        assert again.status_code == 303 and again.headers["location"] == "/welcome/hello"
        events = await provider.store.audit.for_subject("alice", time.time())
        assert [e.kind for e in events].count("sign_in") == 1


def test_the_registration_shown_is_the_servers() -> None:
    source = (ROOT / "server" / "provider_factory.py").read_text(encoding="utf-8")
    squashed = re.sub(r"\s+", "", DOC)  # the call, however it is wrapped
    shown = re.search(r"completions=by_kind\(\[(.*?),Welcome\(\)\]\)", squashed)
    assert shown and f"completions=by_kind([{shown.group(1)}])" in re.sub(r"\s+", "", source)
