"""Prometheus metrics at /metrics: request, sign-in, flow step and token counters with bounded
labels, the token that guards them, and the sum over every worker of `serve --workers`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.server import RunningServer, start_server
from tests.e2e.test_workers import children
from tests.observe.support import (
    a_sign_in_and_a_service_token,
    json_lines,
    scrape,
    value,
    wait_for,
)

METRICS_TOKEN = "metrics-token-0123456789abcdef"
NO_TOKEN = "metrics_token is not set"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("metrics"))
    yield running
    running.stop()


async def test_a_sign_in_and_tokens_move_the_counters_with_their_labels(
    server: RunningServer,
) -> None:
    before = await scrape(server.issuer)
    await a_sign_in_and_a_service_token(server.issuer)
    async with httpx2.AsyncClient() as http:
        missing = await http.get(f"{server.issuer}/no/such/page-4f1c2a")
    after = await scrape(server.issuer)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("gatehouse_sign_ins_total", outcome="success") == 1
    assert moved("gatehouse_tokens_issued_total", grant_type="authorization_code") == 1
    assert moved("gatehouse_tokens_issued_total", grant_type="client_credentials") == 1
    assert moved("gatehouse_audit_events_total", kind="sign_in") == 1
    assert moved("gatehouse_audit_events_total", kind="token_issued") == 2
    for step in ("identify", "password"):
        assert moved("gatehouse_flow_step_outcomes_total",
                     flow="default", step=step, outcome="success") == 1
    token = {"method": "POST", "route": "/token", "status": "200"}
    assert moved("gatehouse_http_request_duration_seconds_count", **token) == 2
    assert moved("gatehouse_http_request_duration_seconds_count", **token) == 2
    assert moved("gatehouse_http_request_duration_seconds_count",
                 method="GET", route="/flow/<run_id>", status="200") == 2
    assert moved("gatehouse_http_request_duration_seconds_count",
                 method="GET", route="/authorize", status="303") == 1
    assert missing.status_code == 404
    assert moved("gatehouse_http_request_duration_seconds_count",
                 method="GET", route="unmatched", status="404") == 1
    routes = {dict(labels).get("route") for _, labels in after} - {None}
    assert all(r == "unmatched" or r.startswith("/") for r in routes), routes
    assert not any("page-4f1c2a" in str(r) for r in routes)


async def test_metrics_are_in_the_text_format_with_the_security_headers(
    server: RunningServer,
) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{server.issuer}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "# TYPE gatehouse_http_request_duration_seconds histogram" in response.text
    assert "_created" not in response.text


def test_an_https_issuer_without_a_metrics_token_warns_at_start(tmp_path: Path) -> None:
    public = start_server(tmp_path, issuer="https://id.example", demo=False)
    public.stop()
    warnings = [line for line in public.log.read_text().splitlines() if NO_TOKEN in line]
    assert len(warnings) == 1 and " WARNING " in warnings[0], warnings


async def test_a_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    guarded = start_server(tmp_path, metrics_token=METRICS_TOKEN, issuer="https://id.example", demo=False)
    try:
        assert NO_TOKEN not in guarded.log.read_text()  # the token is set: no warning
        async with httpx2.AsyncClient(base_url=guarded.issuer) as http:
            for headers in ({}, {"Authorization": "Bearer wrong"},
                            {"Authorization": METRICS_TOKEN},
                            {"Authorization": f"Bearer {METRICS_TOKEN}x"}):
                refused = await http.get("/metrics", headers=headers)
                assert refused.status_code == 401, headers
                assert "gatehouse_" not in refused.text
                assert refused.headers["www-authenticate"].startswith("Bearer")
            allowed = await http.get(
                "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert allowed.status_code == 200 and "gatehouse_http_request_duration_seconds_count" in allowed.text
            assert (await http.get("/healthz")).status_code == 200  # probes need no token
    finally:
        guarded.stop()


async def test_with_two_workers_a_scrape_adds_up_both(tmp_path: Path) -> None:
    server = start_server(tmp_path, serve_args=("--workers", "2"), log_format="json")
    route = "/.well-known/openid-configuration"
    url = f"{server.issuer}{route}"
    try:
        workers = children(server.process.pid)
        folders = {_environ(pid).get("PROMETHEUS_MULTIPROC_DIR") for pid in workers} - {None}
        assert len(folders) == 1, folders  # one private folder, shared by the workers
        before = value(await scrape(server.issuer), "gatehouse_http_request_duration_seconds_count",
                       method="GET", route=route, status="200")
        sent = 0
        for _ in range(10):  # until both workers have answered some (the kernel picks)
            sent += sum(await asyncio.gather(*(_get_alone(url) for _ in range(20))))
            if len(_serving(server, route)) >= 2:
                break
        assert len(_serving(server, route)) >= 2
        for _ in range(4):  # whichever worker answers the scrape, it counts both
            after = value(await scrape(server.issuer), "gatehouse_http_request_duration_seconds_count",
                          method="GET", route=route, status="200")
            assert after - before == sent
    finally:
        server.stop()
    folder = Path(folders.pop() or "")
    assert folder.name.startswith("gatehouse-metrics-") and not folder.exists()


async def _get_alone(url: str) -> int:
    """One request on a connection of its own, so that any worker may accept it."""
    async with httpx2.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    return 1


def _serving(server: RunningServer, route: str) -> set[int]:
    """The processes whose access log shows `route`."""
    wait_for(lambda: json_lines(server.log) or None)
    return {line["process"] for line in json_lines(server.log)
            if line.get("logger") == "gatehouse.access" and line.get("route") == route}


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)
