"""Debian's nginx as the TLS-terminating reverse proxy in front of a test server, on a free
loopback port, with a CA and a certificate for `localhost` that the tests make (trustme). The
configuration is the one docs/deploy.md gives, with the paths of the test's own folder."""

from __future__ import annotations

import os
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.processes import stop

NGINX = "/usr/sbin/nginx"
# The server block of docs/deploy.md; {backend} is where Gatehouse listens.
SERVER_BLOCK = """\
    server {{
        listen {listen}:{port} ssl;
        server_name localhost;
        ssl_certificate {home}/cert.pem;
        ssl_certificate_key {home}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 64k;

        location / {{
            proxy_pass http://{backend};
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header Connection "";
            proxy_read_timeout 35s;
        }}
    }}
"""
CONF = """\
{user}
daemon off;
worker_processes 1;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {home}/access.log;
    client_body_temp_path {home}/body;
    proxy_temp_path {home}/proxy;
    fastcgi_temp_path {home}/fastcgi;
    uwsgi_temp_path {home}/uwsgi;
    scgi_temp_path {home}/scgi;
{server}}}
"""


@dataclass
class Proxy:
    port: int
    ca_file: Path
    process: subprocess.Popen[bytes]
    listen: str = "127.0.0.1"

    @property
    def issuer(self) -> str:
        name = "localhost" if self.listen == "127.0.0.1" else self.listen
        return f"https://{name}:{self.port}"

    def trust(self) -> ssl.SSLContext:
        """A client's TLS context that trusts the tests' CA (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def stop(self) -> None:
        stop(self.process)


def start_nginx(home: Path, port: int, backend: str, listen: str = "127.0.0.1") -> Proxy:
    """nginx on `listen`:`port` (https, as localhost or that address), passing requests to
    `backend`."""
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is missing: bash scripts/install.sh --test installs it")
    home.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1", listen)
    ca.cert_pem.write_to_path(str(home / "ca.pem"))
    cert.private_key_pem.write_to_path(str(home / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(home / "cert.pem"))
    user = "user root root;" if os.geteuid() == 0 else ""
    server = SERVER_BLOCK.format(listen=listen, port=port, home=home, backend=backend)
    (home / "nginx.conf").write_text(CONF.format(user=user, home=home, server=server))
    log = (home / "nginx.log").open("wb")
    process = subprocess.Popen([NGINX, "-c", str(home / "nginx.conf"), "-p", str(home)],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while not (home / "nginx.pid").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"nginx did not start: {(home / 'error.log').read_text()}"
                               f"{(home / 'nginx.log').read_text()}")
        time.sleep(0.05)
    return Proxy(port, home / "ca.pem", process, listen)
