"""The demo configuration runs on MongoDB by changing one line: its `store:`."""

from __future__ import annotations

import difflib
from pathlib import Path

import httpx2
import pytest

from store import open_store
from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.server import ALICE, ROOT, RunningServer, gatehouse, launch, wait_ready
from tests.e2e.test_mfa_in_chromium import CHALLENGE, VERIFIER
from tests.mongodb_server import MongoServer, mongo_backends
from tests.ports import free_port

DEMO_ISSUER = "http://localhost:8000"
DEMO_CALLBACK = "http://localhost:8000/demo/callback"  # registered; not followed here
DEMO_SECRET = "demo-rp-secret-change-me-0123456789abcdef"


class ListeningOn(httpx2.AsyncHTTPTransport):
    """Requests to the demo's issuer go to where this copy of it listens (Host kept)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        routed = httpx2.Request(
            request.method, request.url.copy_with(host="127.0.0.1", port=self.port),
            headers=request.headers, stream=request.stream, extensions=request.extensions,
        )
        return await super().handle_async_request(routed)


@pytest.mark.parametrize("backend", mongo_backends())
async def test_the_demo_config_with_a_mongodb_store_line_signs_alice_in(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mongo: MongoServer = request.getfixturevalue(backend)
    url = mongo.url()
    demo = (ROOT / "gatehouse.yaml").read_text().splitlines(keepends=True)
    changed = [f"store: {url}\n" if line.startswith("store:") else line for line in demo]
    diff = [d for d in difflib.unified_diff(demo, changed, n=0) if d[:1] in "+-"]
    assert len(diff) == 4  # the file names, then one line out and one line in
    config = tmp_path / "gatehouse.yaml"
    config.write_text("".join(changed))
    # Only where this copy runs: another port, and the flows file next to the original.
    port = free_port()
    monkeypatch.setenv("GATEHOUSE_PORT", str(port))
    monkeypatch.setenv("GATEHOUSE_FLOWS_FILE", str(ROOT / "flows.yaml"))
    added = gatehouse(config, "users", "add", ALICE[0], "--password-stdin", stdin=ALICE[1] + "\n")
    assert added.returncode == 0, added.stderr
    log = tmp_path / "server.log"
    server = wait_ready(RunningServer(DEMO_ISSUER, launch(config, log), config, log, port))
    browser = FormBrowser(DEMO_ISSUER)
    await browser.http.aclose()
    browser.http = httpx2.AsyncClient(base_url=DEMO_ISSUER, transport=ListeningOn(port))
    # The sign-in pages are followed; the demo's callback, on the same origin, is not.
    browser.origins = (f"{DEMO_ISSUER}/authorize", f"{DEMO_ISSUER}/flow")
    try:
        authorize = (f"/authorize?client_id=demo-rp&redirect_uri={DEMO_CALLBACK}"
                     f"&response_type=code&scope=openid&code_challenge={CHALLENGE}"
                     "&code_challenge_method=S256")
        target, params = redirect_params(await browser.sign_in(authorize, *ALICE))
        assert target == DEMO_CALLBACK
        token = await browser.http.post("/token", auth=("demo-rp", DEMO_SECRET), data={
            "grant_type": "authorization_code", "code": params["code"],
            "redirect_uri": DEMO_CALLBACK, "code_verifier": VERIFIER})
        assert token.status_code == 200, token.text
        store = await open_store(url)  # the data went to MongoDB: the user and the grant
        try:
            alice = await store.users.find_by_login(ALICE[0])
            assert alice is not None
            assert [c.client_id for c in await store.clients.all()][:2] == ["demo-rp", "demo-spa"]
        finally:
            await store.close()
    finally:
        await browser.close()
        server.stop()
        mongo.drop(url)
    assert "sqlite" not in log.read_text().lower()
