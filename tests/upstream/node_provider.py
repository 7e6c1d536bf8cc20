"""node-oidc-provider (npm) as an upstream identity provider: tests/upstream/provider.mjs.

Its login page takes any login name and signs in as that account: sub = the name, email
`<name>@upstream.example` (verified), amr ["pwd"], or ["pwd", "mfa"] for names starting with
`mfa-`. The name `deny` answers the authorization with error=access_denied.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx2
from bs4 import BeautifulSoup

from tests.e2e.browser import FormBrowser
from tests.ports import free_port
from tests.processes import stop, wait_answering

UPSTREAM_DIR = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 20.0
DENY = "deny"


@dataclass
class NodeProvider:
    issuer: str
    client_id: str
    client_secret: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop(self.process)


def start_node_provider(
    workdir: Path, redirect_uris: list[str], host: str = "127.0.0.3", *,
    port: int | None = None, client_id: str = "gatehouse", client_secret: str | None = None,
    issuer: str | None = None,
) -> NodeProvider:
    """The provider on a free port of `host`, once its discovery document answers.

    Give it a loopback host other than the server under test's: cookies ignore ports. `port` and
    `client_secret` (random by default) let a server's config name the provider before it starts,
    when the redirect URIs are known only once that server runs. `issuer`: its https URL when a
    TLS-terminating proxy is in front (it is asked whether it answers on its own port).
    """
    node = shutil.which("node")
    assert node, "Node.js is missing: run scripts/install.sh --test"
    assert (UPSTREAM_DIR / "node_modules" / "oidc-provider").is_dir(), (
        "oidc-provider is missing: run scripts/install.sh --test"
    )
    port = port or free_port()
    local = f"http://{host}:{port}"
    client_secret = client_secret or secrets.token_urlsafe(32)
    config = workdir / f"upstream-{port}.json"
    config.write_text(json.dumps({
        "host": host, "port": port, "client_id": client_id, "client_secret": client_secret,
        "redirect_uris": redirect_uris, **({"issuer": issuer} if issuer else {}),
    }))
    log = workdir / f"upstream-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [node, str(UPSTREAM_DIR / "provider.mjs"), str(config)],
            cwd=UPSTREAM_DIR, stdout=out, stderr=subprocess.STDOUT,
        )
    provider = NodeProvider(issuer or local, client_id, client_secret, process, log)
    wait_answering(process, f"{local}/.well-known/openid-configuration", log,
                   "the upstream provider", STARTUP_TIMEOUT)
    return provider


def _prompt(page: httpx2.Response) -> str | None:
    """Which of the provider's interaction pages this is: "login", "consent" or None."""
    if page.is_redirect or not page.url.path.startswith("/interaction/"):
        return None
    form = BeautifulSoup(page.text, "html.parser").find("form")
    field = form.find("input", attrs={"name": "prompt"}) if form is not None else None
    return str(field.get("value")) if field is not None else None


async def sign_in_upstream(
    browser: FormBrowser, page: httpx2.Response, login: str
) -> httpx2.Response:
    """From the provider's page the browser landed on, sign in as `login` and consent, as a person
    would; the response that redirects back to the redirect URI (followed by the browser when its
    origin is one the browser knows). A page that is neither is returned as it is."""
    for _ in range(4):
        prompt = _prompt(page)
        if prompt == "login":
            page = await browser.submit(page, login=login, password="any password")
        elif prompt == "consent":
            page = await browser.submit(page)
        else:
            return page
    raise AssertionError(f"the upstream provider keeps asking:\n{page.text}")
