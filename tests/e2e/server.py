"""Start a real Gatehouse process on a free loopback port, with its own config and store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import yaml
from joserfc.jwk import ECKey, RSAKey

from store import Store, open_store
from tests.ports import free_port
from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-1")
CONFIDENTIAL_SECRET = "test-confidential-secret-0123456789abcdef"
POST_SECRET = "test-post-client-secret-0123456789abcdefgh"
OTHER_SECRET = "test-other-rp-secret-0123456789abcdefghijk"
SERVICE_SECRET = "test-service-secret-0123456789abcdefghijkl"
REFERENCE_SECRET = "test-reference-secret-0123456789abcdefghi"
GATEWAY_SECRET = "test-gateway-secret-0123456789abcdefghijkl"
# Admin API callers: full access, read-only, and a token for the API without either scope.
ADMIN_SECRET = "test-admin-bot-secret-0123456789abcdefghij"
ADMIN_CLIENTS = {"admin-bot": "gatehouse:admin", "admin-reader": "gatehouse:admin:read",
                 "admin-noscope": "api:read"}
# The private_key_jwt client's key pair: the server is told the public half only.
JWT_CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "jwt-client-1", "alg": "RS256"}, private=True)
# Request objects (JAR): jar-app signs with ES256 only, jar-open with RS256 or PS256.
JAR_EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "jar-ec-1"}, private=True)
JAR_RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "jar-rsa-1"}, private=True)
# fapi-app, under the FAPI 2.0 profile, signs with an EC key (and holds an RSA one it may not use).
FAPI_KEY = ECKey.generate_key("P-256", parameters={"kid": "fapi-1"}, private=True)
FAPI_RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "fapi-rsa-1"}, private=True)


def client_settings(issuer: str) -> list[dict[str, Any]]:
    return [
        {"client_id": "demo-rp", "client_secret": CONFIDENTIAL_SECRET, "client_name": "Gatehouse Demo",
         "grant_types": ["authorization_code", "refresh_token"],
         "scope": "openid profile email offline_access", "offline_access_without_consent": True,
         "redirect_uris": [f"{issuer}/demo/callback", "https://rp.example/callback"],
         "policy_uri": "https://rp.example/privacy", "tos_uri": "https://rp.example/terms",
         "logo_uri": "https://rp.example/logo.png",
         "post_logout_redirect_uris": ["https://rp.example/signed-out", f"{issuer}/demo/"]},
        {"client_id": "other-rp", "client_secret": OTHER_SECRET,
         "grant_types": ["authorization_code", "refresh_token"],
         "redirect_uris": ["https://other.example/cb"]},
        {"client_id": "post-client", "client_secret": POST_SECRET,
         "token_endpoint_auth_method": "client_secret_post",
         "redirect_uris": ["https://post.example/cb"]},
        {"client_id": "one-page-app", "token_endpoint_auth_method": "none", "flow": "one-page",
         "redirect_uris": ["https://one.example/cb"]},
        {"client_id": "service", "client_secret": SERVICE_SECRET, "redirect_uris": ["https://svc.example/cb"],
         "grant_types": ["client_credentials"], "scope": "api:read api:write",
         "may_introspect_others": True,
         "access_token_audiences": ["https://api.example/", "https://reports.example/"]},
        {"client_id": "es256-app", "token_endpoint_auth_method": "none",
         "id_token_signed_response_alg": "ES256", "userinfo_signed_response_alg": "ES256", "redirect_uris": ["https://es.example/cb"]},
        {"client_id": "jwt-client", "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [JWT_CLIENT_KEY.as_dict(private=False)]},
         "grant_types": ["authorization_code", "refresh_token"], "scope": "openid offline_access",
         "offline_access_without_consent": True, "redirect_uris": ["https://jwt.example/cb"]},
        {"client_id": "ref-app", "client_secret": REFERENCE_SECRET, "access_token_format": "reference",
         "grant_types": ["authorization_code", "client_credentials"], "scope": "openid profile api:read",
         "redirect_uris": ["https://ref.example/cb"]},
        {"client_id": "query-app", "token_endpoint_auth_method": "none",
         "redirect_uris": ["https://q.example/cb?x&y=%20&z=%E9"]},
        {"client_id": "public-app", "client_name": "Public App", "token_endpoint_auth_method": "none",
         "redirect_uris": ["https://spa.example/callback"]},
        {"client_id": "consent-app", "client_name": "Reports", "token_endpoint_auth_method": "none",
         "require_consent": True, "grant_types": ["authorization_code", "refresh_token"],
         "scope": "openid profile email offline_access", "redirect_uris": ["https://consent.example/cb"]},
        {"client_id": "offline-app", "token_endpoint_auth_method": "none",
         "grant_types": ["authorization_code", "refresh_token"], "scope": "openid offline_access",
         "redirect_uris": ["https://offline.example/cb"]},
        {"client_id": "partner-app", "client_name": "Partner Portal", "token_endpoint_auth_method": "none",
         "flow": "partner", "redirect_uris": ["https://partner.example/cb"]},
        {"client_id": "mfa-app", "client_name": "Payroll", "token_endpoint_auth_method": "none",
         "tags": ["mfa-required"], "redirect_uris": ["https://mfa.example/cb"]},
        {"client_id": "jar-app", "token_endpoint_auth_method": "none",
         "request_object_signing_alg": "ES256", "jwks": {"keys": [JAR_EC_KEY.as_dict(private=False)]},
         "redirect_uris": ["https://jar.example/cb"]},
        {"client_id": "jar-open", "token_endpoint_auth_method": "none",
         "jwks": {"keys": [JAR_RSA_KEY.as_dict(private=False)]}, "redirect_uris": ["https://jar-open.example/cb"]},
        {"client_id": "dpop-app", "token_endpoint_auth_method": "none", "dpop_bound_access_tokens": True,
         "grant_types": ["authorization_code", "refresh_token"], "scope": "openid offline_access",
         "redirect_uris": ["https://dpop.example/cb"]},
        {"client_id": "fapi-app", "profile": "fapi2", "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [FAPI_KEY.as_dict(private=False), FAPI_RSA_KEY.as_dict(private=False)]},
         "id_token_signed_response_alg": "ES256", "grant_types": ["authorization_code", "refresh_token"],
         "scope": "openid profile offline_access", "offline_access_without_consent": True,
         "redirect_uris": ["https://fapi.example/cb"]},
        {"client_id": "gateway", "client_secret": GATEWAY_SECRET, "scope": "api:read",
         "grant_types": ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"],
         "token_exchange": {"subject_clients": ["demo-rp"],
                            "audiences": ["https://reports.example/", "https://billing.example/"]},
         "access_token_audiences": ["https://gateway.example/"], "redirect_uris": ["https://gateway.example/cb"]},
        {"client_id": "tv-app", "client_name": "Living Room TV", "token_endpoint_auth_method": "none",
         "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
         "scope": "openid profile offline_access"},
        {"client_id": "par-app", "token_endpoint_auth_method": "none",
         "require_pushed_authorization_requests": True, "redirect_uris": ["https://par.example/cb"]},
        {"client_id": "passwordless-app", "client_name": "Team Chat", "token_endpoint_auth_method": "none",
         "flow": "passwordless", "redirect_uris": ["https://chat.example/cb"]},
        *[{"client_id": client_id, "client_secret": ADMIN_SECRET, "scope": scope,
           "grant_types": ["client_credentials"], "access_token_audiences": [f"{issuer}/admin/api"]}
          for client_id, scope in ADMIN_CLIENTS.items()],
    ]


@dataclass
class RunningServer:
    issuer: str
    process: subprocess.Popen[bytes]
    config: Path
    log: Path
    port: int = 0  # where it listens: a second process of the same config is not at the issuer
    listen: str = "127.0.0.1"

    def stop(self) -> None:
        stop(self.process)


@asynccontextmanager
async def server_store(server: RunningServer) -> AsyncIterator[Store]:
    """The store of a server that `start_server` started (its SQLite file), opened alongside."""
    store = await open_store(f"sqlite:///{Path(server.config).parent / 'gatehouse.db'}")
    try:
        yield store
    finally:
        await store.close()


def gatehouse(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--config", str(config)],
        input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )


def mailing_to(port: int) -> dict[str, Any]:
    """`start_server` settings that send mail to the SMTP server on `port` (a MailCatcher)."""
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}


def add_user_with_email(server: RunningServer, name: str) -> str:
    """Add `name` (password `NAME-password-1`) with the address `NAME@example.com`; the address."""
    email = f"{name}@example.com"
    added = gatehouse(server.config, "users", "add", name, "--email", email,
                      "--password-stdin", stdin=f"{name}-password-1\n")
    assert added.returncode == 0, added.stderr
    return email


def start_server(
    workdir: Path, flows_file: Path | None = None, host: str = "127.0.0.1",
    serve_args: tuple[str, ...] = (), port: int | None = None, behind: str | None = None,
    **settings: Any,
) -> RunningServer:
    """A server on a free port (or `port`); `host` names it in the issuer (passkeys need
    `localhost`, a secure context and a valid WebAuthn RP id). It listens on `host` when that is
    a loopback address (a second server at 127.0.0.2 keeps its own cookies), else on 127.0.0.1.
    `serve_args` are added to `gatehouse serve`. `behind`: the issuer of a proxy in front, where
    the server is reached (an `issuer` among `settings` only changes the config)."""
    listen = host if host.startswith("127.") else "127.0.0.1"
    port = port or free_port(listen)
    issuer = behind or f"http://{host}:{port}"
    config = workdir / "gatehouse.yaml"
    config.write_text(yaml.safe_dump({
        "issuer": issuer, "host": listen, "port": port,
        "store": f"sqlite:///{workdir / 'gatehouse.db'}",
        "flows_file": str(flows_file or ROOT / "flows.yaml"), "demo": True,
        "clients": client_settings(issuer), **settings,
    }))
    added = gatehouse(config, "users", "add", ALICE[0], "--email", "alice@example.com",
                      "--name", "Alice Example", "--password-stdin", "--if-missing",
                      stdin=ALICE[1] + "\n")
    assert added.returncode == 0, added.stderr
    added = gatehouse(config, "users", "add", BOB[0], "--password-stdin", "--if-missing",
                      stdin=BOB[1] + "\n")
    assert added.returncode == 0, added.stderr
    log = workdir / "server.log"
    return wait_ready(
        RunningServer(issuer, launch(config, log, *serve_args), config, log, port, listen)
    )


def serve_another(server: RunningServer, workdir: Path) -> RunningServer:
    """A second `gatehouse serve` of the server's config (same issuer and store) on a free port of
    its own, as a load balancer would front several."""
    port = free_port()
    log = workdir / f"server-{port}.log"
    process = launch(server.config, log, "--port", str(port))
    return wait_ready(RunningServer(server.issuer, process, server.config, log, port))


def launch(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--config", str(config), *args],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def wait_ready(server: RunningServer) -> RunningServer:
    """The server once it answers on its own port; stopped if it does not within 30 s. Asked
    for by the issuer's name, as a load balancer in front of it would: on a loopback issuer,
    another name of this machine on its port is redirected there."""
    deadline = time.monotonic() + 30
    discovery = f"http://{server.listen}:{server.port}/.well-known/openid-configuration"
    named = {"Host": httpx2.URL(server.issuer).netloc.decode("ascii")}
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gatehouse exited: {server.log.read_text()}")
        try:
            if httpx2.get(discovery, headers=named, timeout=1).status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"gatehouse did not start: {server.log.read_text()}")
