"""Stopping the service (SIGTERM, as `systemctl stop` sends it): a request in flight finishes and
is answered, new connections are refused, the process exits cleanly, and a sign-in journey begun
before the stop goes on on the next start (its run is in the store)."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.raw_http import SERVICE_BASIC, TOKEN_FORM, read_answers, request
from tests.e2e.server import ALICE, RunningServer, start_server
from tests.e2e.tokens import CALLBACK

AUTHORIZE = "/authorize?client_id=demo-rp&response_type=code&scope=openid&state=s1" \
            f"&redirect_uri={CALLBACK}"


def connect(server: RunningServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


async def test_a_request_in_flight_is_answered_and_a_journey_goes_on_after_a_restart(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path)
    browser = FormBrowser(server.issuer)
    try:
        page = await browser.submit(await browser.open(AUTHORIZE), login=ALICE[0])  # a run begun
        in_flight = connect(server)
        head = request("POST", "/token", f"127.0.0.1:{server.port}", {
            "Authorization": SERVICE_BASIC, "Content-Type": "application/x-www-form-urlencoded",
        }, TOKEN_FORM)
        in_flight.sendall(head[:-5])  # the request has begun: its body is not all there yet
        server.process.send_signal(signal.SIGTERM)
        in_flight.sendall(head[-5:])
        [answer] = read_answers(in_flight, 1)
        in_flight.close()
        assert answer.status == 200 and b"access_token" in answer.body, answer.body
        # uvicorn ends by raising the signal again once it has shut down: systemd counts an exit
        # on KillSignal as a clean stop
        assert server.process.wait(20) in (0, -signal.SIGTERM)
        assert "Traceback" not in server.log.read_text()
        with pytest.raises(OSError):
            connect(server).close()
        server = start_server(tmp_path, port=server.port)  # the same store and issuer
        target, params = redirect_params(await browser.submit(page, password=ALICE[1]))
        assert target == CALLBACK and "code" in params and params["state"] == "s1"
    finally:
        await browser.close()
        server.stop()
