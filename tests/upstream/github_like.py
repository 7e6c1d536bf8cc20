"""A local stand-in for GitHub's OAuth App sign-in and REST API shape, for federated sign-in tests.

Run as `python -m tests.upstream.github_like CONFIG.json` (tests use `start_github_like`). It
serves GitHub's authorize page (a login name and Authorize / Cancel), its token endpoint (errors
answered with HTTP 200, the body shaped by `Accept`), `/api/user`, `/api/user/emails` and
`/api/user/orgs` (with `read:org`, every membership; without it, the public ones). Paths
under `/_test/` are hooks for tests, not part of GitHub's API.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
import secrets
import string
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus, urlencode

import httpx2
import uvicorn
from quart import Quart, Response, request

from tests.ports import free_port
from tests.processes import stop, wait_answering

if TYPE_CHECKING:
    from tests.e2e.browser import FormBrowser

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 20.0
CODE_LIFETIME = 600.0
AUTHORIZE_PATH = "/login/oauth/authorize"
TOKEN_PATH = "/login/oauth/access_token"
DOCS = "https://docs.github-like.example"
EMAIL_SCOPES = frozenset({"user", "user:email"})
ORG_SCOPES = frozenset({"user", "read:org"})
TOKEN_ALPHABET = string.ascii_letters + string.digits

DEFAULT_USERS: list[dict[str, Any]] = [
    {
        "login": "octocat", "id": 583231, "name": "The Octocat", "public_email": None,
        "created_at": "2011-01-25T18:44:36Z",
        "emails": [{"email": "octocat@github-like.example", "primary": True, "verified": True}],
        # Organizations: (login, whether the membership is public)
        "orgs": [("gatehouse-org", False), ("open-source-club", True)],
    },
    {
        "login": "unverified", "id": 7000001, "name": "Una Verified",
        "public_email": "una@github-like.example",
        "emails": [{"email": "una@github-like.example", "primary": True, "verified": False}],
    },
    {
        "login": "renamed", "id": 7000002, "name": "Re Named", "public_email": None,
        "emails": [
            {"email": "renamed@github-like.example", "primary": True, "verified": True},
            {"email": "other@github-like.example", "primary": False, "verified": True},
        ],
        "orgs": [("gatehouse-org", False)],
    },
]


# --- the stand-in (its own process) -------------------------------------------------------------


@dataclass
class _Grant:
    """What an authorization code remembers."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None
    method: str | None
    login: str
    expires: float


@dataclass
class _Token:
    login: str
    scopes: list[str]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{_e(title)}</title></head>'
        f"<body>{body}</body></html>\n"
    )
    return Response(text, status=status, content_type="text/html; charset=utf-8")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers,
        content_type="application/json; charset=utf-8",
    )


def _redirect(uri: str, params: dict[str, str]) -> Response:
    """A 302 to `uri` with `params` appended to its query."""
    location = f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"
    return Response("", status=302, headers={"Location": location})


def _scopes(scope: str) -> list[str]:
    """Requested scopes, space- (or comma-) separated, without repeats."""
    return list(dict.fromkeys(s for s in re.split(r"[\s,]+", scope) if s))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _node_id(user_id: int) -> str:
    return base64.b64encode(f"04:User{user_id}".encode()).decode()


def create_app(config: dict[str, Any]) -> Quart:
    """The stand-in's Quart app for one registered OAuth App (`config` as in CONFIG.json)."""
    base_url = f"http://{config['host']}:{config['port']}"
    client_id: str = config["client_id"]
    client_secret: str = config["client_secret"]
    redirect_uris: list[str] = list(config["redirect_uris"])
    users = {u["login"].lower(): u for u in config.get("users") or DEFAULT_USERS}
    grants: dict[str, _Grant] = {}
    tokens: dict[str, _Token] = {}
    token_requests: list[dict[str, Any]] = []
    app = Quart(__name__)

    def client_problem(params: dict[str, str]) -> str | None:
        if params.get("client_id") != client_id:
            return "The client_id is not that of a registered application."
        if params.get("redirect_uri") not in redirect_uris:
            return "The redirect_uri is not registered for this application."
        return None

    def pkce_problem(params: dict[str, str]) -> Response | None:
        """An invalid_request redirect when the PKCE challenge is not S256."""
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            answer = {
                "error": "invalid_request",
                "error_description": "Only the S256 code_challenge_method is supported.",
            }
            if "state" in params:
                answer["state"] = params["state"]
            return _redirect(params["redirect_uri"], answer)
        return None

    def authorize_form(params: dict[str, str], error: str | None = None) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'
            for name, value in params.items() if name not in ("login", "authorize")
        )
        alert = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
        body = (
            f"<h1>Authorize {_e(client_id)}</h1>{alert}"
            f'<form method="post" action="{AUTHORIZE_PATH}">{hidden}'
            f'<label>Login <input type="text" name="login" value="{_e(params.get("login", ""))}">'
            "</label>"
            '<button type="submit" name="authorize" value="yes">Authorize</button>'
            '<button type="submit" name="authorize" value="no">Cancel</button>'
            "</form>"
        )
        return _page("Authorize application", body)

    @app.get(AUTHORIZE_PATH)
    async def authorize_page() -> Response:
        params = request.args.to_dict()
        problem = client_problem(params)
        if problem:
            return _page("Bad request", f"<p>{_e(problem)}</p>", 400)
        return pkce_problem(params) or authorize_form(params)

    @app.post(AUTHORIZE_PATH)
    async def authorize_decision() -> Response:
        params = (await request.form).to_dict()
        problem = client_problem(params)
        if problem:
            return _page("Bad request", f"<p>{_e(problem)}</p>", 400)
        refused = pkce_problem(params)
        if refused:
            return refused
        redirect_uri = params["redirect_uri"]
        state = {"state": params["state"]} if "state" in params else {}
        decision = params.get("authorize")
        if decision == "no":
            return _redirect(redirect_uri, {
                "error": "access_denied",
                "error_description": "The user declined to authorize the application.",
                "error_uri": f"{DOCS}/oauth-errors#access-denied",
                **state,
            })
        if decision != "yes":
            return _page("Bad request", "<p>Press Authorize or Cancel.</p>", 400)
        user = users.get(params.get("login", "").strip().lower())
        if user is None:
            return authorize_form(params, "Incorrect username.")
        code = secrets.token_hex(10)
        grants[code] = _Grant(
            client_id, redirect_uri, _scopes(params.get("scope", "")),
            params.get("code_challenge") or None, params.get("code_challenge_method") or None,
            user["login"].lower(), time.monotonic() + CODE_LIFETIME,
        )
        return _redirect(redirect_uri, {"code": code, **state})

    def token_answer(body: dict[str, str]) -> Response:
        """JSON when `Accept` asks for it, else form-encoded; always HTTP 200."""
        if "application/json" in request.headers.get("Accept", ""):
            return _json(body)
        return Response(
            urlencode(body), status=200,
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )

    def token_error(error: str, description: str) -> Response:
        return token_answer({
            "error": error, "error_description": description,
            "error_uri": f"{DOCS}/oauth-errors#{error.replace('_', '-')}",
        })

    def presented_client(form: dict[str, str]) -> tuple[str, str]:
        """The client_id and secret from HTTP Basic, else from the form."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return form.get("client_id", ""), form.get("client_secret", "")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        name, _, secret = decoded.partition(":")
        return unquote_plus(name), unquote_plus(secret)

    @app.post(TOKEN_PATH)
    async def access_token() -> Response:
        form = (await request.form).to_dict()
        token_requests.append({
            "form": {k: "***" if k == "client_secret" else v for k, v in form.items()},
            "headers": sorted(
                {name.lower() for name, _ in request.headers.items()} - {"remote-addr"}
            ),  # Quart adds Remote-Addr itself
        })
        presented_id, presented_secret = presented_client(form)
        if presented_id != client_id or not secrets.compare_digest(
            presented_secret.encode(), client_secret.encode()
        ):
            return token_error(
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
            )
        if form.get("grant_type", "authorization_code") != "authorization_code":
            return token_error("unsupported_grant_type", "Only authorization codes are accepted.")
        grant = grants.pop(form.get("code", ""), None)
        if grant is None or grant.client_id != client_id or grant.expires < time.monotonic():
            return token_error("bad_verification_code", "The code is incorrect or expired.")
        if "redirect_uri" in form and form["redirect_uri"] != grant.redirect_uri:
            return token_error(
                "redirect_uri_mismatch",
                "The redirect_uri differs from that of the authorization request.",
            )
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            if not verifier or not secrets.compare_digest(_s256(verifier), grant.challenge):
                return token_error(
                    "bad_verification_code", "The code_verifier does not match the challenge."
                )
        token = "gho_" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(36))
        tokens[token] = _Token(grant.login, grant.scopes)
        return token_answer({
            "access_token": token, "scope": ",".join(grant.scopes), "token_type": "bearer",
        })

    def bearer() -> _Token | None:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        return tokens.get(value.strip())

    def bad_credentials() -> Response:
        return _json({
            "message": "Bad credentials", "documentation_url": f"{DOCS}/rest", "status": "401",
        }, 401)

    @app.get("/api/user")
    async def api_user() -> Response:
        token = bearer()
        if token is None:
            return bad_credentials()
        user = users[token.login]
        return _json({
            "login": user["login"],
            "id": int(user["id"]),
            "node_id": _node_id(int(user["id"])),
            "avatar_url": f"{base_url}/avatars/u/{user['id']}?v=4",
            "url": f"{base_url}/api/users/{user['login']}",
            "html_url": f"{base_url}/{user['login']}",
            "type": "User",
            "site_admin": False,
            "name": user.get("name"),
            "email": user.get("public_email"),
            "created_at": user.get("created_at", "2020-01-01T00:00:00Z"),
        }, headers={"X-OAuth-Scopes": ", ".join(token.scopes)})

    @app.get("/api/user/emails")
    async def api_user_emails() -> Response:
        token = bearer()
        if token is None:
            return bad_credentials()
        scopes = {"X-OAuth-Scopes": ", ".join(token.scopes)}
        if not EMAIL_SCOPES & set(token.scopes):
            return _json({
                "message": "Not Found", "documentation_url": f"{DOCS}/rest", "status": "404",
            }, 404, scopes)
        user = users[token.login]
        return _json([
            {
                "email": e["email"],
                "primary": bool(e["primary"]),
                "verified": bool(e["verified"]),
                "visibility": (
                    ("public" if e["email"] == user.get("public_email") else "private")
                    if e["primary"] else None
                ),
            }
            for e in user["emails"]
        ], headers=scopes)

    @app.get("/api/user/orgs")
    async def api_user_orgs() -> Response:
        token = bearer()
        if token is None:
            return bad_credentials()
        every = bool(ORG_SCOPES & set(token.scopes))
        return _json([
            {"login": org, "id": 1000 + n, "url": f"{base_url}/api/orgs/{org}", "description": None}
            for n, (org, public) in enumerate(users[token.login].get("orgs", []))
            if public or every
        ], headers={"X-OAuth-Scopes": ", ".join(token.scopes)})

    @app.get("/_test/ready")
    async def test_ready() -> Response:
        """Not GitHub: answers once the stand-in serves."""
        return Response("ok", content_type="text/plain; charset=utf-8")

    @app.get("/_test/requests")
    async def test_requests() -> Response:
        """Not GitHub: every token-endpoint request so far (form fields, header names)."""
        return _json(token_requests)

    return app


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m tests.upstream.github_like CONFIG.json")
    config = json.loads(Path(args[0]).read_text())
    uvicorn.run(create_app(config), host=config["host"], port=int(config["port"]),
                log_level="warning")


# --- the tests' side ----------------------------------------------------------------------------


@dataclass
class GithubLike:
    """A running stand-in, as the tests see it."""

    base_url: str
    client_id: str
    client_secret: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def authorization_endpoint(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def token_endpoint(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def user_endpoint(self) -> str:
        return self.base_url + "/api/user"

    @property
    def emails_endpoint(self) -> str:
        return self.base_url + "/api/user/emails"

    @property
    def orgs_endpoint(self) -> str:
        return self.base_url + "/api/user/orgs"

    def token_requests(self) -> list[dict[str, Any]]:
        """Every token-endpoint request so far: {"form": {...}, "headers": [names]}."""
        response = httpx2.get(f"{self.base_url}/_test/requests", timeout=5)
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()
        return requests

    def stop(self) -> None:
        stop(self.process)


def start_github_like(
    workdir: Path, redirect_uris: list[str], host: str = "127.0.0.4", *,
    port: int | None = None, client_id: str = "gatehouse-app", client_secret: str | None = None,
    users: list[dict[str, Any]] | None = None,
) -> GithubLike:
    """The stand-in on a free port of `host` (or `port`), once it answers.

    Give it a loopback host of its own: cookies ignore ports. `users` replaces DEFAULT_USERS.
    """
    port = port or free_port(host)
    client_secret = client_secret or secrets.token_urlsafe(32)
    config: dict[str, Any] = {
        "host": host, "port": port, "client_id": client_id, "client_secret": client_secret,
        "redirect_uris": redirect_uris,
    }
    if users is not None:
        config["users"] = users
    config_path = workdir / f"github-like-{port}.json"
    config_path.write_text(json.dumps(config))
    log = workdir / f"github-like-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.upstream.github_like", str(config_path)],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    github = GithubLike(f"http://{host}:{port}", client_id, client_secret, process, log)
    wait_answering(process, f"{github.base_url}/_test/ready", log, "the GitHub stand-in",
                   STARTUP_TIMEOUT)
    return github


async def authorize_at_github_like(
    browser: FormBrowser, page: httpx2.Response, login: str, allow: bool = True
) -> httpx2.Response:
    """On the stand-in's authorize page the browser landed on: fill `login` and press Authorize
    (or Cancel); the response after following redirects the browser knows."""
    assert page.status_code == 200 and page.url.path == AUTHORIZE_PATH, (
        f"not the stand-in's authorize page ({page.status_code} {page.url}):\n{page.text}"
    )
    return await browser.click(
        page, ("authorize", "yes" if allow else "no"), action=AUTHORIZE_PATH, login=login
    )


if __name__ == "__main__":
    main()
