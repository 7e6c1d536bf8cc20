"""A browser without a screen: a cookie jar, redirects followed on the server's own origin, and
HTML forms parsed and submitted as a person would fill them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx2
from bs4 import BeautifulSoup


class FormBrowser:
    """`also`: other origins whose redirects are followed too (an upstream provider's pages).
    Give them a different host, not only a different port: cookies ignore ports."""

    def __init__(
        self, origin: str, headers: dict[str, str] | None = None, also: tuple[str, ...] = (),
        **client: Any,
    ) -> None:
        """`client`: more options of its HTTP client (`verify`, `transport`)."""
        self.origin = origin
        self.origins = (origin, *also)
        self.http = httpx2.AsyncClient(
            base_url=origin, follow_redirects=False, headers=headers, **client
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> FormBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _follow(self, response: httpx2.Response) -> httpx2.Response:
        """Follow redirects while they stay on the server; stop at one that leaves it."""
        for _ in range(10):
            if not response.is_redirect:
                return response
            target = urljoin(str(response.url), response.headers["location"])
            if not any(target.startswith(origin + "/") for origin in self.origins):
                return response
            response = await self.http.get(target)
        raise AssertionError("too many redirects")

    async def open(self, url: str) -> httpx2.Response:
        return await self._follow(await self.http.get(url))

    async def submit(self, page: httpx2.Response, **fields: str) -> httpx2.Response:
        """Fill the page's form (hidden fields kept) and submit it."""
        return await self.click(page, None, **fields)

    async def click(
        self, page: httpx2.Response, button: tuple[str, str] | None, *, action: str | None = None,
        **fields: str,
    ) -> httpx2.Response:
        """Fill the page's form (the first, or the one whose action contains `action`) and submit
        it with the button whose name and value are given."""
        forms = BeautifulSoup(page.text, "html.parser").find_all("form")
        form = next((f for f in forms if action is None or action in (f.get("action") or "")), None)
        assert form is not None, f"no form {action or ''} on the page:\n{page.text}"
        data = {
            field["name"]: field.get("value", "")
            for field in form.find_all("input")
            if field.get("name") and (field.get("type") != "checkbox" or field.get("checked"))
        }
        boxes = {field["name"] for field in form.find_all("input", type="checkbox")}
        unknown = set(fields) - set(data) - boxes
        assert not unknown, f"the form has no fields {unknown}"
        data.update(fields)
        if button is not None:
            found = form.find("button", attrs={"name": button[0], "value": button[1]})
            assert found is not None, f"no button {button} on the page:\n{page.text}"
            data[button[0]] = button[1]
        action = urljoin(str(page.url), form.get("action") or str(page.url))
        return await self._follow(await self.http.post(action, data=data))

    async def sign_in(self, authorize_url: str, login: str, password: str) -> httpx2.Response:
        """Through the pages, unless the browser's session answers at once."""
        page = await self.open(authorize_url)
        if page.is_redirect or 'id="form-post"' in page.text:
            return page  # answered at once (a redirect, or a form_post page)
        page = await self.submit(page, login=login)
        return await self.submit(page, password=password)


def redirect_params(response: httpx2.Response) -> tuple[str, dict[str, str]]:
    """The target (without query) and single-valued query of a redirect that leaves the server."""
    assert response.is_redirect, f"expected a redirect, got {response.status_code}:\n{response.text}"
    parts = urlsplit(response.headers["location"])
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query


def page_text(response: httpx2.Response) -> str:
    return " ".join(BeautifulSoup(response.text, "html.parser").get_text().split())


def form_post_params(response: httpx2.Response) -> tuple[str, dict[str, str]]:
    """The target and fields of a Form Post Response Mode page."""
    assert response.status_code == 200, f"expected a form_post page, got {response.status_code}"
    form = BeautifulSoup(response.text, "html.parser").find("form", id="form-post")
    assert form is not None, response.text
    fields = {field["name"]: field["value"] for field in form.find_all("input")}
    return str(form["action"]), fields


def with_mode(mode: str, params: dict[str, str]) -> dict[str, str]:
    """Authorization request parameters asking for `mode` (query, the default, is left out)."""
    return {**params, "response_mode": mode} if mode != "query" else params


def response_params(
    response: httpx2.Response, mode: str | None = None
) -> tuple[str, dict[str, str]]:
    """The target and parameters of an authorization response, redirected or form-posted; when
    `mode` is given, the response must have come in that mode."""
    if mode is None:
        mode = "query" if response.is_redirect else "form_post"
    return redirect_params(response) if mode == "query" else form_post_params(response)


def response_url(response: httpx2.Response, mode: str | None = None) -> str:
    """What the client's redirect endpoint sees, as a URL (form_post fields become a query)."""
    target, params = response_params(response, mode)
    return response.headers["location"] if response.is_redirect else f"{target}?{urlencode(params)}"
