"""An example user directory: a legacy user service that answers over HTTP with JSON. Use it as
it is, or copy it as the start of a directory of your own (federation/directory.py).

The service it expects:

- `GET {base_url}/users/{login}` (the login as typed, a username or an email): 200 and the user as
  a JSON object with the fields of `DirectoryUser` (`id` and `username` required; `email`,
  `email_verified`, `claims`, `groups`), or 404 when nobody has this login.
- `POST {base_url}/users/{id}/verify-password` with `{"password": "..."}`: 200 and
  `{"valid": true}` or `{"valid": false}`.

With `bearer_token`, every request carries `Authorization: Bearer <token>`. Any other answer, an
answer larger than `MAX_ANSWER_BYTES`, or none within `timeout`, raises `DirectoryUnavailable`:
the person is asked to try again later.
The service is one the operator names, on their own network, so it is not fetched through the
guard for client-supplied URLs (which refuses private addresses); redirects are not followed.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError

from federation.directory import DirectoryUnavailable, DirectoryUser, UserDirectory

Answer = TypeVar("Answer", bound=BaseModel)
MAX_ANSWER_BYTES = 64 * 1024  # a user is a few hundred bytes: more is a service gone wrong


class HttpDirectoryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: HttpUrl = Field(description="Where the service is, e.g. `https://users.internal/api`.")
    bearer_token: SecretStr | None = Field(
        None, description="Sent as `Authorization: Bearer ...` (keep flows.yaml private then)."
    )
    timeout: float = Field(5.0, gt=0, le=10, description="Seconds to wait for each answer.")


class PasswordCheck(BaseModel):
    valid: bool = Field(strict=True)


class HttpDirectory(UserDirectory):
    """A user directory behind a small HTTP JSON API (see the module's docstring)."""

    Options = HttpDirectoryOptions

    @property
    def settings(self) -> HttpDirectoryOptions:
        assert isinstance(self.options, HttpDirectoryOptions)
        return self.options

    async def look_up(self, login: str) -> DirectoryUser | None:
        status, content = await self._request("GET", f"/users/{_segment(login)}")
        if status == 404:
            return None
        return _parsed(DirectoryUser, status, content)

    async def verify_password(self, user: DirectoryUser, password: str) -> bool:
        answer = await self._request(
            "POST", f"/users/{_segment(user.id)}/verify-password", {"password": password}
        )
        return _parsed(PasswordCheck, *answer).valid

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        """The answer's status and body (read up to `MAX_ANSWER_BYTES`)."""
        headers = {"Accept": "application/json"}
        if self.settings.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.bearer_token.get_secret_value()}"
        url = str(self.settings.base_url).rstrip("/") + path
        # A client per request keeps the example short; a busy service would keep one open.
        async with httpx2.AsyncClient(timeout=self.settings.timeout, follow_redirects=False) as http:
            try:
                async with http.stream(method, url, json=body, headers=headers) as response:
                    content = bytearray()
                    async for chunk in response.aiter_bytes():
                        content += chunk
                        if len(content) > MAX_ANSWER_BYTES:
                            raise DirectoryUnavailable(
                                f"{method} {path}: an answer over {MAX_ANSWER_BYTES} bytes"
                            )
                    return response.status_code, bytes(content)
            except httpx2.HTTPError as exc:
                raise DirectoryUnavailable(f"{method} {path}: {exc!r}") from exc


def _segment(value: str) -> str:
    """`value` as one path segment: `/` is escaped, and so are dots (`..` would climb)."""
    return quote(value, safe="").replace(".", "%2E")


def _parsed(model: type[Answer], status: int, content: bytes) -> Answer:
    if status != 200:
        raise DirectoryUnavailable(f"answered {status}")
    try:
        return model.model_validate_json(content)
    except ValidationError as exc:
        raise DirectoryUnavailable(f"an answer that is not a {model.__name__}: {exc}") from exc
