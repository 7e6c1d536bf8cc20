"""The one way the provider fetches URLs that clients or config supply (back-channel logout,
client jwks_uri, upstream providers): SSRF protection in one place.

The host is resolved first and refused when any address is loopback, private, link-local or
otherwise not global (unless the config allows it, as the tests do for loopback); the request then
goes to that very address (no second DNS answer can redirect it), with TLS checked against the
original host name (and the public CAs, or also an organisation's own: `ca_file`). No redirects are followed, time is bounded and so is the size of the answer.
`transport()` gives the same guard to other HTTP clients (the upstream providers' OAuth client).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import certifi
import httpx2


class OutboundRefused(Exception):
    """The URL may not be fetched (scheme, address, or size)."""


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    content_type: str
    body: bytes


class _Bounded(httpx2.AsyncByteStream):
    """An answer's body, cut off (with `OutboundRefused`) past `max_bytes`."""

    def __init__(self, inner: httpx2.AsyncByteStream, max_bytes: int, host: str) -> None:
        self.inner, self.max_bytes, self.host = inner, max_bytes, host

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self.inner:
            total += len(chunk)
            if total > self.max_bytes:
                raise OutboundRefused(f"the answer from {self.host} is too large")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class GuardedTransport(httpx2.AsyncBaseTransport):
    """Sends each request to the checked address of its host, and bounds the answer."""

    def __init__(self, outbound: OutboundHttp) -> None:
        self.outbound = outbound
        self.inner = httpx2.AsyncHTTPTransport(verify=outbound.tls())

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.scheme not in ("https", "http") or not url.host:
            raise OutboundRefused("only http(s) URLs with a host can be fetched")
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await self.outbound.public_address(url.host, port)
        # The Host header was set from the original URL; TLS is checked against the name.
        request.url = url.copy_with(host=address, port=port)
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        response = await self.inner.handle_async_request(request)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        response.stream = _Bounded(response.stream, self.outbound.max_bytes, url.host)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass(frozen=True)
class OutboundHttp:
    allow_private_addresses: bool = False
    timeout: float = 5.0
    max_bytes: int = 512 * 1024
    ca_file: str | None = None  # more CA certificates to trust (PEM): an organisation's own

    def tls(self) -> ssl.SSLContext:
        """Certificates are always checked: against the usual public CAs (certifi's), and
        `ca_file`'s too when it is set."""
        context = ssl.create_default_context(cafile=certifi.where())
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context

    async def public_address(self, host: str, port: int) -> str:
        """The address to connect to; `OutboundRefused` when `host` resolves to any address
        that is not global (and the config does not allow those)."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except socket.gaierror as exc:
            raise OutboundRefused(f"cannot resolve {host}") from exc
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global and not self.allow_private_addresses:
                raise OutboundRefused(f"{host} resolves to a non-public address")
        return addresses[0]

    def transport(self) -> GuardedTransport:
        """For an `httpx2.AsyncClient` (made with `follow_redirects=False` and a timeout)."""
        return GuardedTransport(self)

    async def post_form(self, url: str, data: dict[str, str]) -> OutboundResponse:
        return await self.request("POST", url, data=data)

    async def request(
        self, method: str, url: str, data: dict[str, str] | None = None
    ) -> OutboundResponse:
        """The answer (decoded body); raises OutboundRefused, or httpx2.HTTPError on failure."""
        async with httpx2.AsyncClient(
            timeout=self.timeout, follow_redirects=False, transport=self.transport()
        ) as client:
            try:
                response = await client.request(method, url, data=data)
            except httpx2.UnsupportedProtocol as exc:
                raise OutboundRefused("only http(s) URLs with a host can be fetched") from exc
        return OutboundResponse(
            response.status_code, response.headers.get("content-type", ""), response.content
        )
