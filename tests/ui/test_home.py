"""The landing page at `/` (links to the account page, the demo when it is served, discovery;
translated like every page) and the icon at `/favicon.ico` that every page names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from server.app import create_app
from server.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DISCOVERY = "/.well-known/openid-configuration"
ICON_LINK = '<link rel="icon" href="/favicon.ico">'


async def started(demo: bool) -> AsyncIterator[Quart]:
    settings = load_settings(ROOT / "gatehouse.yaml").model_copy(
        update={"store": "sqlite://:memory:", "demo": demo})
    app = create_app(settings)
    async with app.test_app():
        yield app


@pytest.fixture
async def app() -> AsyncIterator[Quart]:
    async for running in started(demo=True):
        yield running


@pytest.fixture
async def app_without_demo() -> AsyncIterator[Quart]:
    async for running in started(demo=False):
        yield running


async def test_the_landing_page_links_the_account_the_demo_and_discovery(app: Quart) -> None:
    answer = await app.test_client().get("/")
    page = await answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.content_type == "text/html; charset=utf-8"
    assert "<h1 id=\"page-title\">Welcome</h1>" in page
    for target in ("/account", "/demo/", DISCOVERY):
        assert f'href="{target}"' in page, target
    assert answer.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


async def test_the_landing_page_leaves_out_the_demo_when_it_is_off(
    app_without_demo: Quart,
) -> None:
    page = await (await app_without_demo.test_client().get("/")).get_data(as_text=True)
    assert 'href="/account"' in page and "/demo" not in page


async def test_the_landing_page_speaks_french(app: Quart) -> None:
    answer = await app.test_client().get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    page = await answer.get_data(as_text=True)
    assert '<html lang="fr">' in page and "Bienvenue" in page
    assert "Ceci est un service de connexion." in page
    assert "Essayer l’application de démonstration" in page


async def test_the_icon_is_served_and_cached(app: Quart) -> None:
    answer = await app.test_client().get("/favicon.ico")
    icon = await answer.get_data()
    assert answer.status_code == 200 and answer.content_type == "image/vnd.microsoft.icon"
    assert icon[:4] == b"\x00\x00\x01\x00" and icon[22:30] == b"\x89PNG\r\n\x1a\n"  # ICO of a PNG
    assert answer.headers["Cache-Control"] == "public, max-age=86400"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/account", "/nowhere", "/demo/"])
async def test_every_page_names_the_icon(app: Quart, path: str) -> None:
    client = app.test_client()
    answer = await client.get(path, follow_redirects=True)
    assert answer.content_type.startswith("text/html")
    assert ICON_LINK in await answer.get_data(as_text=True), path
