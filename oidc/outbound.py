"""The one way the provider fetches URLs that clients or config supply (back-channel logout, and
later client jwks_uri and upstream providers): SSRF protection in one place.

The host is resolved first and refused when any address is loopback, private, link-local or
otherwise not global (unless the config allows it, as the tests do for loopback); the request then
goes to that very address (no second DNS answer can redirect it), with TLS checked against the
original host name. No redirects are followed, time is bounded and so is the size of the answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx2


class OutboundRefused(Exception):
    """The URL may not be fetched (scheme, address, or size)."""


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class OutboundHttp:
    allow_private_addresses: bool = False
    timeout: float = 5.0
    max_bytes: int = 512 * 1024

    async def _address(self, host: str, port: int) -> str:
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

    async def post_form(self, url: str, data: dict[str, str]) -> OutboundResponse:
        return await self.request("POST", url, data=data)

    async def request(
        self, method: str, url: str, data: dict[str, str] | None = None
    ) -> OutboundResponse:
        """The answer (decoded body); raises OutboundRefused, or httpx2.HTTPError on failure."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise OutboundRefused("only http(s) URLs with a host can be fetched")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self._address(parts.hostname, port)
        host = f"[{address}]" if ":" in address else address
        pinned = urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        async with httpx2.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            request = client.build_request(
                method, pinned, data=data, headers={"Host": parts.netloc}, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise OutboundRefused(f"the answer from {parts.hostname} is too large")
            finally:
                await response.aclose()
        return OutboundResponse(
            response.status_code, response.headers.get("content-type", ""), body
        )
