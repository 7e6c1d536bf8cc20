"""A client of the admin API for the tests: tokens from the token endpoint, calls over HTTP."""

from __future__ import annotations

import secrets
from typing import Any

import httpx2

from tests.e2e.server import ADMIN_SECRET, RunningServer


class AdminApi:
    """Calls /admin/api with a client_credentials token of `client_id` (fetched once)."""

    def __init__(self, server: RunningServer, client_id: str = "admin-bot") -> None:
        self.server, self.client_id = server, client_id
        self.token: str | None = None
        self.http = httpx2.AsyncClient(base_url=f"{server.issuer}/admin/api")

    async def get_token(self) -> str:
        if self.token is None:
            answer = await self.http.post(
                f"{self.server.issuer}/token", auth=(self.client_id, ADMIN_SECRET),
                data={"grant_type": "client_credentials"},
            )
            assert answer.status_code == 200, answer.text
            self.token = str(answer.json()["access_token"])
        return self.token

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        headers = {"Authorization": f"Bearer {await self.get_token()}"}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        answer = await self.call(method, path, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content and "json" in answer.headers["content-type"] else None

    async def new_user(self, password: str | None = None, **fields: Any) -> dict[str, Any]:
        name = "u" + secrets.token_hex(5)
        body = {"username": name, "email": f"{name}@example.com", **fields}
        if password is not None:
            body["password"] = password
        created: dict[str, Any] = await self.ok("POST", "/users", 201, json=body)
        return created

    async def close(self) -> None:
        await self.http.aclose()
