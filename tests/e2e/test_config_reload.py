"""`systemctl reload` (SIGHUP) reads gatehouse.yaml again: its clients are taken at once (a new
application can sign people in without a restart), a setting that needs a restart is named in
the log, and a config with a problem changes nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx2
import yaml

from tests.e2e.server import RunningServer, client_settings, start_server

LATE = {"client_id": "late-app", "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://late.example/cb"]}
AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "late-app", "redirect_uri": "https://late.example/cb", "response_type": "code",
    "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256"}))


def logged(server: RunningServer, text: str, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in server.log.read_text():
            return True
        time.sleep(0.1)
    return False


async def test_sighup_takes_new_clients_and_names_what_needs_a_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path, clients=client_settings("http://unused")[:1])
    try:
        async with httpx2.AsyncClient(base_url=server.issuer) as http:
            assert (await http.get(AUTHORIZE)).status_code == 400  # not a client yet
            config = yaml.safe_load(server.config.read_text())
            server.config.write_text("clients: [\n")  # broken: nothing changes
            server.process.send_signal(signal.SIGHUP)
            assert logged(server, "nothing of it is taken")
            config["clients"].append(LATE)
            config["run_lifetime"] = 900
            server.config.write_text(yaml.safe_dump(config))
            server.process.send_signal(signal.SIGHUP)
            assert logged(server, "took its 2 clients")
            assert logged(server, "run_lifetime changed; that takes a restart")
            deadline = time.monotonic() + 35  # a process re-reads a client within 30 s
            while (answer := await http.get(AUTHORIZE)).status_code != 303:
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.5)
            assert "/flow/" in answer.headers["location"]
    finally:
        server.stop()
