"""A page asked for at another loopback name of the issuer's port goes to the issuer (308, path
and query kept), so that a demo opened at 127.0.0.1 signs in where its cookies are. The target
is always the configured issuer; probes answer on any name; only GET and HEAD move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, RunningServer, start_server

QUERY = "?a=1&b=%20x%2F&c=%C3%A9"


@pytest.fixture(scope="module")
def at_localhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose issuer is http://localhost:PORT, listening on 127.0.0.1:PORT."""
    running = start_server(tmp_path_factory.mktemp("gatehouse-localhost"), host="localhost")
    yield running
    running.stop()


def on_socket(server: RunningServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/demo/", "/account", "/.well-known/openid-configuration",
                                  "/static/gatehouse.css", "/nowhere"])
async def test_another_loopback_name_is_sent_to_the_issuer_with_its_path_and_query(
    at_localhost: RunningServer, method: str, path: str
) -> None:
    forged = {"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}
    async with httpx2.AsyncClient() as http:
        answer = await http.request(method, on_socket(at_localhost, path + QUERY), headers=forged)
    assert answer.status_code == 308
    assert answer.headers["location"] == f"{at_localhost.issuer}{path}{QUERY}"


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "127.0.0.2", "LOCALHOST.localdomain"])
async def test_the_target_never_comes_from_the_host_header(
    at_localhost: RunningServer, host: str
) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.get(on_socket(at_localhost, "/demo/"),
                                headers={"Host": f"{host}:{at_localhost.port}"})
    if host == "LOCALHOST.localdomain":  # not a loopback name: served, as any proxy's Host is
        assert answer.status_code == 200 and "localdomain" not in answer.text
    else:
        assert answer.status_code == 308
        assert answer.headers["location"] == f"{at_localhost.issuer}/demo/"


async def test_the_issuers_own_name_another_port_and_posts_are_served(
    at_localhost: RunningServer,
) -> None:
    async with httpx2.AsyncClient() as http:
        own = await http.get(on_socket(at_localhost, "/demo/"),
                             headers={"Host": f"localhost:{at_localhost.port}"})
        other_port = await http.get(on_socket(at_localhost, "/demo/"),
                                    headers={"Host": f"127.0.0.1:{at_localhost.port + 1}"})
        posted = await http.post(on_socket(at_localhost, "/token"),
                                 data={"grant_type": "client_credentials"})
    assert own.status_code == 200 and other_port.status_code == 200
    assert posted.status_code == 401 and posted.json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_probes_answer_on_any_name(at_localhost: RunningServer, path: str) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.get(on_socket(at_localhost, path))
    assert answer.status_code == 200


async def test_the_demo_opened_at_127_0_0_1_signs_alice_in(at_localhost: RunningServer) -> None:
    socket = f"http://127.0.0.1:{at_localhost.port}"
    browser = FormBrowser(socket, also=(at_localhost.issuer,))
    try:
        page = await browser.open(f"{socket}/demo/login")
        assert str(page.url).startswith(f"{at_localhost.issuer}/flow/")
        page = await browser.submit(page, login=ALICE[0])
        result = await browser.submit(page, password=ALICE[1])
    finally:
        await browser.close()
    assert result.status_code == 200, page_text(result)
    assert str(result.url).startswith(f"{at_localhost.issuer}/demo/callback?")
    assert "lost track" not in result.text and "alice@example.com" in result.text


async def test_a_127_0_0_1_issuer_takes_localhost_visitors(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        answer = await http.get(f"{server.issuer}/demo/?x=1",
                                headers={"Host": f"localhost:{server.port}"})
    assert answer.status_code == 308 and answer.headers["location"] == f"{server.issuer}/demo/?x=1"


def test_the_banner_names_the_issuer_as_the_address_to_open(at_localhost: RunningServer) -> None:
    banner = Path(at_localhost.log).read_text().splitlines()[:2]
    assert banner[0] == (f"Gatehouse is at {at_localhost.issuer}"
                         f" (listening on 127.0.0.1:{at_localhost.port})")
    assert banner[1].startswith(f"Demo relying party: {at_localhost.issuer}/demo ")
