"""`log_format: json`: one JSON object per line, each with the request id that the response's
X-Request-Id header carries; an offered id is kept only when it is short and plain."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.server import RunningServer, start_server
from tests.observe.support import json_lines, wait_for

GENERATED = re.compile(r"[0-9a-f]{32}")
DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("logs"), log_format="json")
    yield running
    running.stop()


def access_line(server: RunningServer, request_id: str) -> dict[str, Any]:
    return wait_for(lambda: next(
        (line for line in json_lines(server.log)
         if line.get("logger") == "gatehouse.access" and line.get("request_id") == request_id),
        None,
    ))


async def test_every_line_is_json_and_each_request_has_an_access_line(
    server: RunningServer,
) -> None:
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        response = await http.get(DISCOVERY)
        missing = await http.get("/no/such/page?code=query-secret-5e1d")
    request_id = response.headers["x-request-id"]
    assert GENERATED.fullmatch(request_id)
    line = access_line(server, request_id)
    assert line["level"] == "INFO" and line["process"] == server.process.pid
    assert line["method"] == "GET" and line["route"] == DISCOVERY and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["time"]
    assert line["message"].startswith(f"GET {DISCOVERY} 200 ")
    other = access_line(server, missing.headers["x-request-id"])
    assert other["route"] == "unmatched" and other["status"] == 404
    # A request no route took shows its path, never its query (codes, tokens).
    assert other["path"] == "/no/such/page" and other["message"].startswith("GET /no/such/page 404 ")
    assert "query-secret-5e1d" not in server.log.read_text()
    assert "path" not in line  # a route's own requests: the template only
    lines = json_lines(server.log)  # every line parses
    warnings = [line for line in lines if line["level"] == "WARNING"]
    assert any("smtp_host is not set" in line["message"] for line in warnings)
    assert all(line["request_id"] == "-" for line in warnings)  # logged outside any request


async def test_an_unmatched_path_is_logged_escaped_on_one_line(server: RunningServer) -> None:
    """As sent (still %-encoded: a CR LF in it cannot start a forged line), cut at 200."""
    sent = "/a%0d%0aINFO%20forged/%E9t%C3%A9/" + "x" * 500
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        missing = await http.get(sent)
    line = access_line(server, missing.headers["x-request-id"])
    assert line["path"] == sent[:200] and line["message"].startswith(f"GET {sent[:200]} 404 ")


async def test_a_plain_offered_request_id_is_kept(server: RunningServer) -> None:
    offered = "lb-7f3a.9_B"
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        response = await http.get(DISCOVERY, headers={"X-Request-Id": offered})
    assert response.headers["x-request-id"] == offered
    assert access_line(server, offered)["route"] == DISCOVERY


@pytest.mark.parametrize("offered", [
    "a" * 65, "two words", "id\"quoted\"", "{\"json\": 1}", "../../etc/passwd", "%0d%0aInjected",
    "", "é-accent",
])
async def test_a_hostile_request_id_is_replaced(server: RunningServer, offered: str) -> None:
    async with httpx2.AsyncClient(base_url=server.issuer) as http:
        response = await http.get(DISCOVERY, headers={"X-Request-Id": offered.encode()})
    given = response.headers["x-request-id"]
    assert GENERATED.fullmatch(given) and given != offered
    access_line(server, given)
    if offered:
        assert offered not in server.log.read_text()
