"""The store goes away and comes back: a friendly 503 page (JSON for machines) with Retry-After
meanwhile, and the server recovers without a restart."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlencode

import httpx2

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.raw_http import read_answers, request
from tests.e2e.server import ALICE, start_server
from tests.mongodb_server import start_secantusdb

CALLBACK = "https://spa.example/callback"
AUTHORIZE = (f"/authorize?client_id=public-app&redirect_uri={CALLBACK}&response_type=code"
             "&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
             "&code_challenge_method=S256")


async def test_store_outage_is_a_503_then_the_server_recovers_by_itself(tmp_path: Path) -> None:
    storage, log = tmp_path / "secantus-data", tmp_path / "secantusd.log"
    mongo = start_secantusdb(log, storage=storage)  # on disk: a restart finds the data again
    port = int(mongo.base_url.rsplit(":", 1)[1])
    gatehouse = start_server(
        tmp_path, store=mongo.url("gatehouse") + "?serverSelectionTimeoutMS=500"
    )
    browser = FormBrowser(gatehouse.issuer)
    try:
        assert (await browser.sign_in(AUTHORIZE, *ALICE)).is_redirect

        assert mongo.process is not None
        mongo.process.kill()  # the database is gone, as after a crash or a network cut
        mongo.process.wait()
        page = await browser.http.get(AUTHORIZE)
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert "We will be right back" in page_text(page)
        assert "Traceback" not in page.text
        token = await browser.http.post("/token", data={
            "grant_type": "authorization_code", "code": "x", "client_id": "public-app",
            "redirect_uri": CALLBACK, "code_verifier": "v" * 43})
        assert token.status_code == 503 and token.headers["retry-after"] == "5"
        assert token.json()["error"] == "temporarily_unavailable"
        assert token.headers["cache-control"] == "no-store"
        # The same request in one write, which the connection answers itself: the error goes
        # to the app all the same.
        name = gatehouse.issuer.split("//", 1)[1]
        with socket.create_connection(("127.0.0.1", int(name.rsplit(":", 1)[1]))) as sock:
            sock.settimeout(10)
            sock.sendall(request("POST", "/token", name, {
                "Content-Type": "application/x-www-form-urlencoded"}, urlencode({
                    "grant_type": "authorization_code", "code": "x", "client_id": "public-app",
                    "redirect_uri": CALLBACK, "code_verifier": "v" * 43}).encode()))
            (raw,) = read_answers(sock, 1)
        assert raw.status == 503 and raw.headers["retry-after"] == "5"
        assert json.loads(raw.body)["error"] == "temporarily_unavailable"

        mongo = start_secantusdb(log, port, storage)
        fresh = FormBrowser(gatehouse.issuer)
        try:  # the same server process, the data found again: users, clients and keys
            target, params = redirect_params(await fresh.sign_in(AUTHORIZE, *ALICE))
            assert target == CALLBACK and params["code"]
        finally:
            await fresh.close()
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{gatehouse.issuer}/jwks")).status_code == 200
    finally:
        await browser.close()
        gatehouse.stop()
        mongo.stop()
