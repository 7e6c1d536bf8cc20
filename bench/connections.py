"""Memory of one worker under 1,000 connections at once, and after they close: resident memory
(RSS) before, at the peak and after each of a few rounds, each connection beginning a journey
and reading its first page.

    .venv/bin/python -m bench.connections [--connections 1000] [--rounds 3]

A cost that stays after the connections close but does not grow from round to round is the
allocator keeping freed memory for reuse, not something the server holds.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.browsers import authorize_params
from bench.harness import LOAD_SETTINGS, machine, rss_bytes
from tests.e2e.server import RunningServer, start_server

MB = 1024 * 1024


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, target: str,
    cookies: str = "",
) -> tuple[int, dict[str, str], str]:
    """One keep-alive request and its answer: the status, headers and the cookies it set, as a
    Cookie header would send them back (the body is read)."""
    cookie = f"Cookie: {cookies}\r\n" if cookies else ""
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{cookie}\r\n".encode())
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = [(k.lower(), v.strip()) for k, _, v in (line.partition(":") for line in head[1:] if line)]
    headers = dict(fields)
    await reader.readexactly(int(headers.get("content-length", "0")))
    set_cookies = "; ".join(v.split(";", 1)[0] for k, v in fields if k == "set-cookie")
    return int(head[0].split()[1]), headers, set_cookies


async def hold(server: RunningServer, count: int) -> int:
    """`count` connections at once, each beginning a journey and reading its page, all kept
    open until the last is answered; the peak RSS of the server, in bytes."""
    host = urlsplit(server.issuer).netloc
    opened = await asyncio.gather(*(
        asyncio.open_connection("127.0.0.1", server.port) for _ in range(count)
    ))

    async def journey(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        query = urlencode(authorize_params(secrets.token_urlsafe(48)))
        status, headers, cookies = await exchange(reader, writer, host, f"/authorize?{query}")
        assert status == 303, status
        page = urlsplit(headers["location"]).path
        status, _, _ = await exchange(reader, writer, host, page, cookies)
        assert status == 200, status

    await asyncio.gather(*(journey(r, w) for r, w in opened))
    peak = rss_bytes(server.process.pid)
    for _, writer in opened:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for _, w in opened), return_exceptions=True)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("; ".join(f"{k}: {v}" for k, v in machine().items()) + "\n")
    print(f"| round | RSS before MB | at {args.connections:,} connections MB | 5 s after MB |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), **LOAD_SETTINGS, max_concurrency=args.connections * 2)
        try:
            asyncio.run(hold(server, 20))  # warm: imports, templates, pools
            time.sleep(2)
            for round_number in range(1, args.rounds + 1):
                before = rss_bytes(server.process.pid)
                peak = asyncio.run(hold(server, args.connections))
                time.sleep(5)
                after = rss_bytes(server.process.pid)
                print(f"| {round_number} | {before / MB:.0f} | {peak / MB:.0f}"
                      f" | {after / MB:.0f} |")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
