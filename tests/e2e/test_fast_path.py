"""The token endpoint, the metadata and the JWK set, answered by the connection itself when a
request comes whole (server/direct_answers.py), or through the ASGI fast path otherwise: either
way in order behind and ahead of other requests, with the same headers, request ids and log
lines, and the connection kept or closed as the request asks."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.raw_http import (
    RawAnswer,
    closed_by_server,
    read_answers,
    request,
    token_request,
)
from tests.e2e.server import RunningServer, start_server
from tests.e2e.test_dpop import new_key, proof

JWKS, METADATA = "/jwks", "/.well-known/openid-configuration"


@contextmanager
def connection(server: RunningServer) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", server.port or int(server.issuer.rsplit(":", 1)[1])))
    sock.settimeout(10)
    try:
        yield sock
    finally:
        sock.close()


def host(server: RunningServer) -> str:
    return server.issuer.split("//", 1)[1]


def assert_token(answer: RawAnswer) -> None:
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    assert json.loads(answer.body)["token_type"] == "Bearer"


def assert_common_headers(answer: RawAnswer) -> None:
    """What every answer carries: uvicorn's and the security headers, an id, its length."""
    for name in ("date", "server", "content-security-policy", "x-content-type-options",
                 "x-frame-options", "referrer-policy", "x-request-id"):
        assert name in answer.headers, (name, answer.headers)
    if answer.status != 304:
        assert int(answer.headers["content-length"]) == len(answer.body)


def test_pipelined_requests_are_answered_in_order(server: RunningServer) -> None:
    name = host(server)
    with connection(server) as sock:
        sock.sendall(
            token_request(name, {"X-Request-Id": "first-token"})
            + request("GET", JWKS, name)
            + request("GET", "/nowhere", name)  # Quart's, between two of the fast path's
            + token_request(name)
            + request("GET", METADATA, name, {"X-Request-Id": "last-metadata"})
        )
        answers = read_answers(sock, 5)
    assert [a.status for a in answers] == [200, 200, 404, 200, 200]
    assert_token(answers[0])
    assert answers[0].headers["x-request-id"] == "first-token"
    assert json.loads(answers[1].body)["keys"]
    assert answers[1].headers["content-type"] == "application/jwk-set+json"
    assert "text/html" in answers[2].headers["content-type"]
    assert_token(answers[3])
    assert json.loads(answers[4].body)["issuer"] == server.issuer
    assert answers[4].headers["x-request-id"] == "last-metadata"
    for answer in answers:
        assert_common_headers(answer)
    assert len({a.headers["x-request-id"] for a in answers}) == 5


def test_a_body_that_comes_in_pieces_is_still_answered(server: RunningServer) -> None:
    whole = token_request(host(server))
    with connection(server) as sock:
        for piece in (whole[:-10], whole[-10:-4], whole[-4:]):
            sock.sendall(piece)
            time.sleep(0.1)
        sock.sendall(request("GET", JWKS, host(server)))  # and the connection goes on
        answers = read_answers(sock, 2)
    assert_token(answers[0])
    assert answers[1].status == 200 and json.loads(answers[1].body)["keys"]


def test_an_etag_held_gets_304_on_the_same_connection(server: RunningServer) -> None:
    with connection(server) as sock:
        sock.sendall(request("GET", JWKS, host(server)))
        (first,) = read_answers(sock, 1)
        sock.sendall(request("GET", JWKS, host(server), {"If-None-Match": first.headers["etag"]}))
        (again,) = read_answers(sock, 1)
    assert again.status == 304 and again.body == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert "content-length" not in again.headers
    assert_common_headers(again)


def test_http_1_0_and_connection_close_are_answered_then_closed(server: RunningServer) -> None:
    for ask in (request("GET", JWKS, host(server), version="1.0"),
                request("GET", JWKS, host(server), {"Connection": "close"}),
                token_request(host(server), {"Connection": "close"})):
        with connection(server) as sock:
            sock.sendall(ask)
            (answer,) = read_answers(sock, 1)
            assert answer.status == 200
            assert_common_headers(answer)
            assert closed_by_server(sock)


def test_each_answer_has_its_access_line_with_its_request_id(server: RunningServer) -> None:
    ids = [f"line-{n}-{time.monotonic_ns()}" for n in range(3)]
    with connection(server) as sock:
        sock.sendall(token_request(host(server), {"X-Request-Id": ids[0]})
                     + request("GET", JWKS, host(server), {"X-Request-Id": ids[1]})
                     + request("GET", METADATA, host(server), {"X-Request-Id": ids[2]}))
        assert [a.status for a in read_answers(sock, 3)] == [200, 200, 200]
    expected = {ids[0]: "POST /token 200", ids[1]: "GET /jwks 200", ids[2]: f"GET {METADATA} 200"}
    deadline = time.monotonic() + 5
    while True:
        lines = server.log.read_text().splitlines()
        found = {rid: [line for line in lines if f"[{rid}]" in line] for rid in ids}
        if all(found.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for rid, start in expected.items():
        access = [line for line in found[rid] if "gatehouse.access" in line]
        assert len(access) == 1 and f": {start} " in access[0], found[rid]
    issued = [line for line in found[ids[0]] if "gatehouse.audit" in line]
    assert len(issued) == 1 and "token_issued subject=service" in issued[0]


def audit_address(server: RunningServer, rid: str) -> str:
    """The address in the audit line of the request `rid`."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in server.log.read_text().splitlines():
            if f"[{rid}]" in line and "token_issued" in line:
                return line.split(" address=", 1)[1].split(" ", 1)[0]
        time.sleep(0.1)
    raise AssertionError(f"no audit line for {rid}")


def test_behind_a_trusted_balancer_the_forwarded_address_is_audited(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, trusted_proxies=["127.0.0.1"])
    try:
        with connection(server) as sock:
            sock.sendall(token_request(host(server), {
                "X-Forwarded-For": "198.51.100.7", "X-Request-Id": "forwarded-token"})
                + request("GET", JWKS, host(server)))
            answers = read_answers(sock, 2)
        assert_token(answers[0])
        assert answers[1].status == 200
        assert audit_address(server, "forwarded-token") == "198.51.100.7"
    finally:
        server.stop()


def test_without_trusted_balancers_the_connections_address_is_audited(
    server: RunningServer,
) -> None:
    with connection(server) as sock:
        sock.sendall(token_request(host(server), {
            "X-Forwarded-For": "198.51.100.7", "X-Request-Id": "unforwarded-token"}))
        assert_token(read_answers(sock, 1)[0])
    assert audit_address(server, "unforwarded-token") == "127.0.0.1"


def test_a_token_request_answered_on_the_connection_takes_one_dpop_proof(server: RunningServer) -> None:
    """RFC 9449 §4.3: one proof binds the token; two DPoP headers are refused, not read as one."""
    key, url = new_key(), f"{server.issuer}/token"
    once = token_request(host(server), {"DPoP": proof(key, "POST", url)})
    twice = token_request(host(server), {"DPoP": proof(key, "POST", url)}).replace(
        b"\r\nDPoP: ", f"\r\nDPoP: {proof(key, 'POST', url)}\r\nDPoP: ".encode(), 1)
    with connection(server) as sock:
        sock.sendall(once + twice)
        answers = read_answers(sock, 2)
    assert answers[0].status == 200 and json.loads(answers[0].body)["token_type"] == "DPoP"
    assert answers[1].status == 400
    assert json.loads(answers[1].body)["error"] == "invalid_dpop_proof"
