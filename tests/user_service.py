"""A legacy user service on loopback, as federation/http_directory.py expects one:
`GET /users/{login}` (a user as JSON, or 404) and `POST /users/{id}/verify-password`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

PREFIX = "/api"  # the service's base URL has a path, as most do


@dataclass
class LegacyUser:
    id: str
    username: str
    password: str
    email: str | None = None
    email_verified: bool = False
    claims: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "password"}


@dataclass
class UserService:
    url: str
    users: list[LegacyUser]
    token: str | None = None
    status: int | None = None  # answer every request with this status instead (503: down)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, auth

    def by_login(self, login: str) -> LegacyUser | None:
        wanted = login.casefold()
        return next((u for u in self.users
                     if wanted in (u.username.casefold(), (u.email or "").casefold())), None)

    def by_id(self, user_id: str) -> LegacyUser | None:
        return next((u for u in self.users if u.id == user_id), None)


@contextmanager
def user_service(users: list[LegacyUser], token: str | None = None) -> Iterator[UserService]:
    service = UserService("", users, token)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _refused(self) -> bool:
            auth = self.headers.get("Authorization")
            service.seen.append((self.command, self.path, auth))
            if service.status is not None:
                self._send(service.status)
            elif service.token is not None and auth != f"Bearer {service.token}":
                self._send(401)
            else:
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            parts = self.path.removeprefix(PREFIX).split("/")
            if self._refused():
                return
            user = service.by_login(unquote(parts[2])) if len(parts) == 3 else None
            self._send(200, user.as_json()) if user else self._send(404)

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            parts = self.path.removeprefix(PREFIX).split("/")
            if self._refused():
                return
            user = service.by_id(unquote(parts[2])) if len(parts) == 4 else None
            if user is None or parts[3] != "verify-password":
                self._send(404)
            else:
                self._send(200, {"valid": body.get("password") == user.password})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
