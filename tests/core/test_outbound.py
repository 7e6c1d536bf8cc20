"""The guarded outbound HTTP helper (SSRF protection). Refusals happen before any connection."""

from __future__ import annotations

import pytest

from core import OutboundHttp, OutboundRefused
from tests.receiver import receiver


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x", "http://10.0.0.1/x",
    "http://192.168.1.1/x", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/x",
    "http://[::ffff:127.0.0.1]:9/x", "http://0.0.0.0:9/x", "file:///etc/passwd", "ftp://x.example/",
    "http:///no-host",
])
async def test_non_public_addresses_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(OutboundRefused):
        await OutboundHttp().request("GET", url)


async def test_loopback_when_allowed_and_no_redirects_followed() -> None:
    with receiver(status=302, location="http://169.254.169.254/") as rp:
        answer = await OutboundHttp(allow_private_addresses=True).post_form(rp.url, {"a": "1"})
    assert answer.status_code == 302 and rp.posts == [{"a": ["1"]}]


async def test_answers_are_size_limited() -> None:
    with receiver(body=b"x" * 2048) as rp:
        outbound = OutboundHttp(allow_private_addresses=True, max_bytes=1024)
        with pytest.raises(OutboundRefused, match="too large"):
            await outbound.request("GET", rp.url)
