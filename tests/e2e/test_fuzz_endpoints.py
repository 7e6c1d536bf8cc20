"""Property-based fuzzing of every endpoint and form of a running server: missing, repeated and
oversized parameters, wrong types, invalid UTF-8, huge bodies, bad JSON, bad JWTs, bad base64 and
wrong content types. Every answer must be below 500, a designed page or the endpoint's OAuth error,
redirect nowhere but here or to a registered URI, and echo nothing unescaped (tests/e2e/fuzzing.py
has the checks). The cases run are counted in the terminal summary."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pyotp
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests import run_report
from tests.e2e import fuzzing as fz
from tests.e2e.browser import FormBrowser, redirect_params
from tests.e2e.server import (
    ALICE,
    BOB,
    CONFIDENTIAL_SECRET,
    JWT_CLIENT_KEY,
    POST_SECRET,
    REFERENCE_SECRET,
    SERVICE_SECRET,
    RunningServer,
    client_settings,
    gatehouse,
    start_server,
)

ASSERTION_TYPE = b"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
VERIFIER = "fz-verifier-" + "v" * 40
CHALLENGE = create_s256_code_challenge(VERIFIER)
PASSWORD = "fuzz-password-1"
# Set-up requests come from this address; fuzz cases from others, so that throttling of their
# wrong guesses never blocks the set-up of the next case.
SETUP = {"X-Forwarded-For": "192.0.2.10"}
CREDENTIALS = [
    ("service", SERVICE_SECRET),
    ("demo-rp", CONFIDENTIAL_SECRET),
    ("ref-app", REFERENCE_SECRET),
    ("post-client", POST_SECRET),
    ("demo-rp", "wrong"),
    ("jwt-client", "x"),
    ("nobody", "x"),
]


# GATEHOUSE_FUZZ_SCALE=N runs N times the cases, with fresh random ones each run (without it,
# the same cases every run).
SCALE = float(os.environ.get("GATEHOUSE_FUZZ_SCALE", "0"))


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=int(examples * SCALE) if SCALE else examples,
        deadline=None,
        derandomize=not SCALE,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


def note_cases() -> None:
    """How many cases each fuzz test sent, for the end of the run's report."""
    for name, count in sorted(fz.CASES.items()):
        statuses = " ".join(f"{s}:{n}" for s, n in sorted(fz.STATUSES[name].items()))
        echoed = f", {fz.ECHOED[name]} showed input escaped" if fz.ECHOED[name] else ""
        run_report.note("fuzz cases", name, f"{count:6d}  {name}  (statuses {statuses}{echoed})")
    run_report.note("fuzz cases", "in total", f"{sum(fz.CASES.values()):6d}  in total")


@dataclass(repr=False)
class Fuzz:
    server: RunningServer
    site: fz.Site
    http: httpx2.Client
    runner: asyncio.Runner
    tokens: dict[str, str]
    browsers: dict[str, FormBrowser] = field(default_factory=dict)
    targets: dict[str, FlowTarget] = field(default_factory=dict)
    account_csrf: str = ""  # bob's, on his account page
    logout_csrf: str = ""  # a confirmation token of the right shape (of no session)

    def __repr__(self) -> str:
        return f"Fuzz({self.server.issuer})"

    def run(self, coroutine: Awaitable[Any]) -> Any:
        return self.runner.run(coroutine)  # type: ignore[arg-type]

    def browser(self) -> FormBrowser:
        return FormBrowser(self.server.issuer, headers=SETUP)


def authorize_url(client_id: str, redirect_uri: str, **extra: str) -> str:
    return "/authorize?" + str(
        httpx2.QueryParams(
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "openid",
                "state": "fz-state",
                "nonce": "fz-nonce",
                "code_challenge": CHALLENGE,
                "code_challenge_method": "S256",
                **extra,
            }
        )
    )


DEMO = ("demo-rp", "https://rp.example/callback")
MFA = ("mfa-app", "https://mfa.example/cb")


async def signed_in(fuzz: Fuzz, login: str, password: str) -> FormBrowser:
    """A browser with an SSO session of `login` (through demo-rp, which asks for nothing more)."""
    browser = fuzz.browser()
    answer = await browser.sign_in(authorize_url(*DEMO), login, password)
    assert "code" in redirect_params(answer)[1], answer.text
    return browser


async def real_tokens(fuzz: Fuzz) -> dict[str, str]:
    """Real tokens to tamper with: alice's access, ID and refresh tokens, and a service's."""
    browser = fuzz.browser()
    url = authorize_url(*DEMO, scope="openid profile email offline_access")
    code = redirect_params(await browser.sign_in(url, *ALICE))[1]["code"]
    await browser.close()
    async with httpx2.AsyncClient(base_url=fuzz.server.issuer) as http:
        user = (
            await http.post(
                "/token",
                auth=("demo-rp", CONFIDENTIAL_SECRET),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": DEMO[1],
                    "code_verifier": VERIFIER,
                },
            )
        ).json()
        service = (
            await http.post(
                "/token",
                auth=("service", SERVICE_SECRET),
                data={"grant_type": "client_credentials"},
            )
        ).json()
        reference = (
            await http.post(
                "/token",
                auth=("ref-app", REFERENCE_SECRET),
                data={"grant_type": "client_credentials"},
            )
        ).json()
    return {
        "access": user["access_token"],
        "id": user["id_token"],
        "refresh": user["refresh_token"],
        "service": service["access_token"],
        "reference": reference["access_token"],
    }


async def enroll_totp(fuzz: Fuzz, login: str) -> None:
    """Give `login` an authenticator app and recovery codes (mfa-app makes them set one up)."""
    browser = fuzz.browser()
    page = await browser.sign_in(authorize_url(*MFA), login, PASSWORD)
    page = await browser.click(page, ("choice", "totp"))
    key = BeautifulSoup(page.text, "html.parser").select_one(".secret-key")
    assert key is not None, page.text
    page = await browser.submit(page, code=pyotp.TOTP(key.get_text().replace(" ", "")).now())
    answer = await browser.submit(page, confirm="yes")
    assert "code" in redirect_params(answer)[1], answer.text
    await browser.close()


def site_of(issuer: str) -> fz.Site:
    clients = client_settings(issuer)
    redirect_uris = {c["client_id"]: tuple(c.get("redirect_uris", ())) for c in clients}
    # The account page's record has no redirect URI: authorize is fuzzed with its former one.
    redirect_uris["gatehouse-account"] = (f"{issuer}/account/signed-in",)
    external = [
        uri for c in clients for key in ("policy_uri", "tos_uri", "logo_uri") if (uri := c.get(key))
    ]
    external += ["https://example.com/terms", "https://example.com/partner-terms"]
    post_logout = tuple(u for c in clients for u in c.get("post_logout_redirect_uris", []))
    return fz.Site(issuer, tuple(external), redirect_uris, post_logout)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    workdir = tmp_path_factory.mktemp("fuzz")
    # Its own server: wrong guesses are throttled per account and per address, and X-Forwarded-For
    # is believed from the tests, so that each case can come from an address of its own.
    server = start_server(workdir, trusted_proxies=["127.0.0.1"], account_reauth_seconds=3600)
    runner = asyncio.Runner()
    http = httpx2.Client(base_url=server.issuer, timeout=60)
    try:
        for login in ("fz-pw", "fz-totp", "fz-enroll", "fz-change"):
            added = gatehouse(
                server.config,
                "users",
                "add",
                login,
                "--email",
                f"{login}@example.com",
                "--password-stdin",
                stdin=PASSWORD + "\n",
            )
            assert added.returncode == 0, added.stderr
        fuzz = Fuzz(server, site_of(server.issuer), http, runner, {})
        fuzz.tokens = fuzz.run(real_tokens(fuzz))
        fuzz.run(enroll_totp(fuzz, "fz-totp"))
        # A browser without a session has nothing to sign out of: no confirmation is asked, so
        # the confirm form is fuzzed with a token of the right shape that no session holds.
        signed_out = http.get("/logout", params={"id_token_hint": "x"})
        assert "You are signed out" in signed_out.text, signed_out.text
        fuzz.logout_csrf = "0" * 64
        yield fuzz
        for browser in [*fuzz.browsers.values(), *(t.browser for t in fuzz.targets.values())]:
            fuzz.run(browser.close())
        note_cases()
    finally:
        http.close()
        runner.close()
        server.stop()


# --- Sending a case ----------------------------------------------------------------------------


@dataclass
class Case:
    method: str
    path: str
    query: fz.Pairs = field(default_factory=list)
    body: bytes | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    params: fz.Pairs = field(default_factory=list)  # the parameters, wherever they are sent

    def url(self, issuer: str) -> httpx2.URL:
        url = httpx2.URL(issuer + self.path)
        return url.copy_with(query=fz.urlencode(self.query)) if self.query else url

    def fits(self) -> bool:
        """Whether the request line is one uvicorn parses: it answers a request target over
        64 KiB itself, with a plain-text 400, before the application sees it."""
        return len(self.path) + len(fz.urlencode(self.query)) < 60_000


def clean(value: bytes) -> bytes:
    """A header value HTTP/1.1 can carry (no control characters, no outer whitespace)."""
    return bytes(b for b in value if b >= 0x20 and b != 0x7F or b == 0x09).strip()


def send(fuzz: Fuzz, case: Case) -> httpx2.Response:
    assume(case.fits())
    headers = [(name, clean(value)) for name, value in case.headers]
    return fuzz.http.request(
        case.method, case.url(fuzz.server.issuer), content=case.body, headers=headers
    )


async def send_async(browser: FormBrowser, issuer: str, case: Case) -> httpx2.Response:
    assume(case.fits())
    headers = [(name, clean(value)) for name, value in case.headers]
    return await browser.http.request(
        case.method, case.url(issuer), content=case.body, headers=headers
    )


@st.composite
def cases(
    draw: st.DrawFn,
    path: str,
    valid: dict[str, list[bytes]],
    methods: tuple[str, ...] = ("POST",),
    headers: dict[str, st.SearchStrategy[bytes | None]] | None = None,
    sticky: frozenset[str] = frozenset(),
    proxied: bool = False,
) -> Case:
    """A request to `path` with `valid` parameters mutated, in the query (GET) or a body;
    `proxied` adds odd Host and X-Forwarded-* headers."""
    method = draw(st.sampled_from(methods))
    pairs = draw(fz.mutated(valid, sticky=sticky))
    if draw(st.integers(0, 11)) == 11:  # a great many parameters, some repeated
        name = draw(st.sampled_from([b"x", b"a[]", *(n.encode() for n in valid)]))
        pairs += [
            (name if i % 2 else b"p%d" % i, b"1") for i in range(draw(st.integers(100, 3000)))
        ]
    extra = {name: draw(strategy) for name, strategy in (headers or {}).items()}
    if proxied and draw(st.integers(0, 3)) == 3:
        extra |= draw(fz.proxy_headers)
    extra["X-Forwarded-For"] = draw(fz.forwarded_for)
    if method == "GET":
        return Case(method, path, pairs, None, fz.request_headers(None, extra), pairs)
    ctype, body = draw(fz.bodies(pairs))
    query = draw(st.lists(st.tuples(fz.names(list(valid)), fz.values(False)), max_size=2))
    return Case(method, path, query, body, fz.request_headers(ctype, extra), query + pairs)


def count(name: str, response: httpx2.Response | None = None) -> None:
    fz.CASES[name] += 1
    if response is not None:
        fz.STATUSES[name][response.status_code] += 1
        fz.ECHOED[name] += "&lt;fz-x" in response.text


# --- The authorization endpoint ----------------------------------------------------------------

AUTHORIZE_CLIENTS = [
    "demo-rp",
    "public-app",
    "query-app",
    "consent-app",
    "one-page-app",
    "jwt-client",
    "mfa-app",
    "partner-app",
    "passwordless-app",
    "service",
    "gatehouse-account",
]


def authorize_params(fuzz: Fuzz, client: str) -> dict[str, list[bytes]]:
    uris = [u.encode() for u in fuzz.site.redirect_uris[client]]
    return {
        "client_id": [client.encode(), b"unknown-client"],
        "redirect_uri": [*uris, b"https://rp.example/callback", b"https://evil.example/cb"],
        "response_type": [b"code", b"token", b"id_token", b"code id_token"],
        "scope": [
            b"openid",
            b"openid profile email offline_access",
            b"profile",
            b"openid api:read",
        ],
        "state": [b"fz-state", b"<fz-x>"],
        "code_challenge": [CHALLENGE.encode(), b"short"],
        "code_challenge_method": [b"S256", b"plain"],
    }


OPTIONAL_AUTHORIZE = {
    "nonce": [b"n"],
    "prompt": [b"none", b"login", b"consent", b"create", b"select_account"],
    "max_age": [b"0", b"3600", b"-1"],
    "response_mode": [b"query", b"form_post", b"fragment"],
    "claims": [
        b'{"userinfo":{"email":null},"id_token":{"acr":{"essential":true}}}',
        b"[1]",
        b'{"userinfo":[]}',
    ],
    "login_hint": [b"<fz-x>\"fz-x'fz-x", b"alice"],
    "ui_locales": [b"fr", b"fr-CA en", b"\xff"],
    "acr_values": [b"urn:gatehouse:loa:2", b"urn:gatehouse:loa:9"],
    "request": [b"eyJhbGciOiJub25lIn0.e30."],
    "request_uri": [b"https://evil.example/r"],
    "registration": [b"{}"],
    "display": [b"popup"],
    "id_token_hint": [b"x"],
}


def redirect_targets(fuzz: Fuzz, case: Case) -> tuple[str, ...]:
    """The registered redirect URIs of every client the case names (a redirect may go nowhere
    else)."""
    named = {v.decode("utf-8", "replace") for n, v in case.params if n == b"client_id"}
    return tuple(u for c in named for u in fuzz.site.redirect_uris.get(c, ()))


def follow(fuzz: Fuzz, response: httpx2.Response, targets: tuple[str, ...]) -> None:
    """Redirects that stay on the server are followed, each answer checked on the way."""
    for _ in range(4):
        if response.status_code not in fz.REDIRECTS:
            return
        location = response.headers["location"]
        if location.startswith("/"):
            location = fuzz.server.issuer + location
        if not location.startswith(fuzz.server.issuer + "/"):
            return
        response = fuzz.http.get(location, headers=SETUP)
        fz.check_page(response, fuzz.site, targets, authorize=True)


@st.composite
def authorize_cases(draw: st.DrawFn, fuzz: Fuzz) -> Case:
    client = draw(st.sampled_from(AUTHORIZE_CLIENTS))
    valid = authorize_params(fuzz, client)
    optional = draw(st.sets(st.sampled_from(sorted(OPTIONAL_AUTHORIZE)), max_size=3))
    hints = [fuzz.tokens["id"].encode(), fuzz.tokens["access"].encode()]
    for name in optional:
        valid[name] = OPTIONAL_AUTHORIZE[name] + (hints if name == "id_token_hint" else [])
    sticky = frozenset(
        {
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "code_challenge",
            "code_challenge_method",
        }
    )
    return draw(cases("/authorize", valid, ("GET", "GET", "POST"), sticky=sticky, proxied=True))


@fuzz_settings(450)
@given(data=st.data())
def test_authorize(fuzz: Fuzz, data: st.DataObject) -> None:
    case = data.draw(authorize_cases(fuzz))
    targets = redirect_targets(fuzz, case)
    response = send(fuzz, case)
    count("authorize", response)
    # RFC 6749 §4.1.2.1: an error sent to the client carries the state it sent, when that is
    # a state at all (Appendix A.5: VSCHARs; other bytes come back percent-encoded).
    states = [v for n, v in case.query if n == b"state"]
    state = states[0].decode("utf-8", "replace") if case.method == "GET" and states else None
    state = state if state and all(0x20 <= ord(c) <= 0x7E for c in state) else None
    fz.check_page(response, fuzz.site, targets, authorize=True, state=state)
    follow(fuzz, response, targets)


@st.composite
def pushed_request_cases(draw: st.DrawFn, fuzz: Fuzz) -> Case:
    client = draw(st.sampled_from(AUTHORIZE_CLIENTS))
    valid = authorize_params(fuzz, client)
    optional = draw(st.sets(st.sampled_from(sorted(OPTIONAL_AUTHORIZE)), max_size=3))
    for name in optional:
        valid[name] = OPTIONAL_AUTHORIZE[name] + [b"urn:ietf:params:oauth:request_uri:x"]
    header = draw(client_auth(fuzz, valid))
    sticky = frozenset({"redirect_uri", "response_type", "scope", "code_challenge",
                        "code_challenge_method"})
    return draw(cases("/par", valid, headers={"Authorization": header}, sticky=sticky))


@fuzz_settings(300)
@given(data=st.data())
def test_pushed_authorization_requests(fuzz: Fuzz, data: st.DataObject) -> None:
    """A pushed request is stored or refused with an OAuth error; one that was stored leads
    /authorize only to the server's pages or to a redirect URI of the client that pushed it."""
    case = data.draw(pushed_request_cases(fuzz))
    response = send(fuzz, case)
    count("par", response)
    fz.check_pushed_request(response, fuzz.site)
    if response.status_code == 201:
        pusher = pushing_client(case)
        targets = tuple(fuzz.site.redirect_uris.get(pusher, ()))
        query = httpx2.QueryParams(
            {"client_id": pusher, "request_uri": response.json()["request_uri"]})
        answer = fuzz.http.get(f"{fuzz.server.issuer}/authorize?{query}", headers=SETUP)
        fz.check_page(answer, fuzz.site, targets, authorize=True)
        follow(fuzz, answer, targets)


def pushing_client(case: Case) -> str:
    """The client a request authenticated as: the one its Basic credentials name, else its
    client_id."""
    for name, value in case.headers:
        if name.lower() == b"authorization" and value.startswith(b"Basic "):
            return base64.b64decode(value[6:]).decode().partition(":")[0]
    return next(v.decode() for n, v in case.params if n == b"client_id")


# --- UserInfo ---------------------------------------------------------------------------------


@st.composite
def userinfo_cases(draw: st.DrawFn, fuzz: Fuzz) -> Case:
    tokens = st.one_of(
        st.sampled_from(
            [fuzz.tokens[k].encode() for k in ("access", "service", "reference", "id")]
        ),
        fz.jwts(fuzz.server.issuer, JWT_CLIENT_KEY, list(fuzz.tokens.values())).map(str.encode),
        fz.values(),
    )
    scheme = draw(
        st.sampled_from(
            [b"Bearer "] * 6
            + [b"bearer ", b"BEARER  ", b"Bearer", b"Basic ", b"DPoP ", b"", b"\xff "]
        )
    )
    header = st.one_of(st.builds(lambda t: scheme + t, tokens), st.none())
    valid = {"access_token": [draw(tokens)]} if draw(st.integers(0, 3)) == 3 else {}
    return draw(cases("/userinfo", valid, ("GET", "POST"), headers={"Authorization": header}))


@fuzz_settings(300)
@given(data=st.data())
def test_userinfo(fuzz: Fuzz, data: st.DataObject) -> None:
    response = send(fuzz, data.draw(userinfo_cases(fuzz)))
    count("userinfo", response)
    fz.check_userinfo(response, fuzz.site)


# --- Token, revocation and introspection ------------------------------------------------------


@st.composite
def client_auth(
    draw: st.DrawFn, fuzz: Fuzz, params: dict[str, list[bytes]]
) -> st.SearchStrategy[bytes | None]:
    """Add one way (or, to be refused, several) of client authentication to `params`; the
    Authorization header to send."""
    how = draw(st.sampled_from(["basic", "basic", "post", "assertion", "none", "several"]))
    if how in ("post", "several"):
        params |= {
            "client_id": [b"post-client", b"demo-rp", b"service"],
            "client_secret": [POST_SECRET.encode(), b"wrong"],
        }
    if how in ("assertion", "several"):
        params |= {
            "client_assertion": [draw(assertion_strategy(fuzz))],
            "client_assertion_type": [
                ASSERTION_TYPE,
                b"urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
            ],
            "client_id": [b"jwt-client", b"demo-rp"],
        }
    if how == "none":
        params["client_id"] = [b"public-app", b"demo-rp", b"gatehouse-account"]
    return fz.basic_headers(CREDENTIALS) if how in ("basic", "several") else st.none()


def assertion_strategy(fuzz: Fuzz) -> st.SearchStrategy[bytes]:
    issuer = fuzz.server.issuer
    now = int(time.time())
    good = st.builds(
        lambda jti, aud, h: fz.rs256(
            JWT_CLIENT_KEY,
            {"alg": "RS256", "kid": "jwt-client-1", **h},
            {"iss": "jwt-client", "sub": "jwt-client", "aud": aud, "exp": now + 300, "jti": jti},
        ),
        st.text(min_size=1, max_size=12),
        st.sampled_from([issuer, f"{issuer}/token", f"{issuer}/revoke"]),
        fz.header_dicts.filter(lambda h: "alg" not in h),
    )
    return st.one_of(fz.jwts(issuer, JWT_CLIENT_KEY), good).map(str.encode)


@st.composite
def token_cases(draw: st.DrawFn, fuzz: Fuzz) -> Case:
    real = [fuzz.tokens["refresh"].encode(), fuzz.tokens["access"].encode()]
    valid = {
        "grant_type": [
            b"client_credentials",
            b"refresh_token",
            b"authorization_code",
            b"password",
            b"urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        "code": [b"fz-code", *real],
        "redirect_uri": [DEMO[1].encode(), b"https://evil.example/cb"],
        "code_verifier": [VERIFIER.encode(), b"a" * 43],
        "refresh_token": [*real, b"fz-refresh"],
        "scope": [b"openid", b"api:read", b"api:read api:write profile", b"openid offline_access"],
        "resource": [
            b"https://api.example/",
            b"https://reports.example/",
            b"https://api.example/#f",
            b"urn:x",
            b"api.example",
        ],
    }
    chosen = draw(st.sets(st.sampled_from(sorted(valid)), max_size=3))
    params = {k: v for k, v in valid.items() if k in chosen | {"grant_type"}}
    header = draw(client_auth(fuzz, params))
    return draw(cases("/token", params, headers={"Authorization": header}))


@fuzz_settings(450)
@given(data=st.data())
def test_token(fuzz: Fuzz, data: st.DataObject) -> None:
    response = send(fuzz, data.draw(token_cases(fuzz)))
    count("token", response)
    fz.check_token(response, fuzz.site)


@st.composite
def revoke_or_introspect_cases(draw: st.DrawFn, fuzz: Fuzz) -> Case:
    real = [t.encode() for t in fuzz.tokens.values()]
    tokens = st.one_of(
        st.sampled_from(real),
        fz.jwts(fuzz.server.issuer, JWT_CLIENT_KEY, list(fuzz.tokens.values())).map(str.encode),
        fz.values(),
    )
    valid: dict[str, list[bytes]] = {
        "token": [draw(tokens), draw(tokens)],
        "token_type_hint": [b"access_token", b"refresh_token", b"id_token", b"\xff"],
    }
    header = draw(client_auth(fuzz, valid))
    path = draw(st.sampled_from(["/revoke", "/introspect"]))
    return draw(cases(path, valid, headers={"Authorization": header}))


@fuzz_settings(350)
@given(data=st.data())
def test_revoke_and_introspect(fuzz: Fuzz, data: st.DataObject) -> None:
    case = data.draw(revoke_or_introspect_cases(fuzz))
    response = send(fuzz, case)
    count(case.path.strip("/"), response)
    (fz.check_revoke if case.path == "/revoke" else fz.check_introspect)(response, fuzz.site)


# --- Logout -----------------------------------------------------------------------------------


@st.composite
def logout_cases(draw: st.DrawFn, fuzz: Fuzz) -> Case:
    issuer = fuzz.server.issuer
    hints = st.one_of(
        st.just(fuzz.tokens["id"]), fz.jwts(issuer, JWT_CLIENT_KEY, [fuzz.tokens["id"]])
    ).map(str.encode)
    valid = {
        "id_token_hint": [draw(hints), draw(hints)],
        "post_logout_redirect_uri": [
            b"https://rp.example/signed-out",
            f"{issuer}/demo/".encode(),
            b"https://rp.example/signed-out/",
            b"https://rp.example/signed-out?x=1",
            b"https://evil.example/",
            b"//evil.example",
            b"https://rp.example/callback",
        ],
        "client_id": [b"demo-rp", b"other-rp"],
        "state": [b"fz-state", b"<fz-x>"],
        "ui_locales": [b"fr"],
    }
    if draw(st.integers(0, 4)) == 4:
        return draw(
            cases("/logout/confirm", {"csrf_token": [fuzz.logout_csrf.encode(), b"\xc3\xa9"]})
        )
    return draw(cases("/logout", valid, ("GET", "GET", "POST")))


@fuzz_settings(250)
@given(data=st.data())
def test_logout(fuzz: Fuzz, data: st.DataObject) -> None:
    response = send(fuzz, data.draw(logout_cases(fuzz)))
    count("logout", response)
    fz.check_page(response, fuzz.site, fuzz.site.post_logout_uris)


# --- Every path and method: static files, metadata, resume, flow ids, account, demo --------------

PATHS = [
    "/.well-known/openid-configuration",
    "/jwks",
    "/static/gatehouse.css",
    "/static/form_post.js",
    "/static/webauthn.js",
    "/authorize/resume",
    "/flow/fz-run",
    "/account",
    "/account/sign-in-again",
    "/account/signed-in",
    "/account/actions/add-passkey",
    "/account/actions/x",
    "/account/passkeys/x/remove",
    "/account/totp/x/remove",
    "/account/forget-browsers",
    "/logout/confirm",
    "/demo/",
    "/demo/login",
    "/demo/callback",
    "/token",
    "/par",
    "/userinfo",
    "/revoke",
    "/introspect",
    "/logout",
    "/authorize",
    "/",
    "/favicon.ico",
]
SEGMENTS = [
    "",
    "/",
    "//",
    "/%2e%2e/%2e%2e/server/app.py",
    "/..%2f..%2fpyproject.toml",
    "/%00",
    "/%ff%fe",
    "/%c3%a9",
    "/<fz-x>",
    "/%3Cfz-x%3E",
    "/" + "a" * 3000,
    "/%",
    "/%zz",
    ";x=1",
    "%20",
    "/.",
    "/%2f%2fevil.example",
    "/static/../../x",
    "\\evil",
]


@st.composite
def path_cases(draw: st.DrawFn) -> Case:
    path = draw(st.sampled_from(PATHS)) + draw(st.sampled_from([""] * len(SEGMENTS) + SEGMENTS))
    method = draw(
        st.sampled_from(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    )
    valid = {
        "run": [b"fz-run", b"\xff" * 10, b"a" * 101],
        "state": [b"s"],
        "code": [b"c"],
        "done": [b"add-passkey", b"<fz-x>"],
        "error": [b"<fz-x>"],
        "iss": [b"https://evil.example"],
    }
    case = draw(cases(path, valid, (method,), proxied=True))
    if draw(st.booleans()):
        case.headers += [
            (
                b"Cookie",
                draw(
                    st.sampled_from(
                        [
                            b"gh_browser=" + b"a" * 30,
                            b"gh_session=%ff",
                            b"gh_account=x.y.z",
                            b"gh_device=" + b"A" * 2500,
                            b"demo_rp=junk",
                            b"gh_browser=\xc3\xa9" * 20,
                        ]
                    )
                ),
            )
        ]
    if draw(st.booleans()):
        case.headers += [
            (
                b"Accept-Language",
                draw(
                    st.sampled_from(
                        [b"fr", b"*;q=x", b"\xff", b"fr;q=1e999, en;q=-1", b",,,", b"zz-" * 200]
                    )
                ),
            )
        ]
    return case


def check_any(fuzz: Fuzz, case: Case, response: httpx2.Response) -> None:
    path = case.path
    if case.method == "HEAD":
        fz.check_common(response)
        return
    if case.method == "OPTIONS" and response.status_code == 200:
        fz.check_common(response)
        assert "allow" in response.headers and response.content == b"", fz.describe(response)
        return
    site = fuzz.site
    if path.startswith("/static/") or path == "/favicon.ico":  # files, not pages
        fz.check_static(response, site)
    elif path in ("/token",):
        fz.check_token(response, site)
    elif path == "/par":
        fz.check_pushed_request(response, site)
    elif path == "/revoke":
        fz.check_revoke(response, site)
    elif path == "/introspect":
        fz.check_introspect(response, site)
    elif path == "/userinfo":
        fz.check_userinfo(response, site)
    elif path in ("/.well-known/openid-configuration", "/jwks") and response.status_code == 200:
        fz.check_common(response)
        assert isinstance(response.json(), dict)
    else:
        targets = site.post_logout_uris if path.startswith("/logout") else ()
        fz.check_page(response, site, targets)


@fuzz_settings(450)
@given(case=path_cases())
def test_paths_and_methods(fuzz: Fuzz, case: Case) -> None:
    response = send(fuzz, case)
    count("paths and methods", response)
    check_any(fuzz, case, response)


# --- The account page, signed in --------------------------------------------------------------

ACCOUNT_PATHS = [
    "/account",
    "/account/sign-in-again",
    "/account/signed-in",
    "/account/forget-browsers",
    "/account/actions/add-passkey",
    "/account/actions/set-up-totp",
    "/account/actions/new-recovery-codes",
    "/account/actions/change-password",
    "/account/actions/<fz-x>",
    "/account/passkeys/x/remove",
    "/account/passkeys/webauthn%3Ax/remove",
    "/account/totp/x/remove",
    "/account/totp/%ff/remove",
]


def account_browser(fuzz: Fuzz) -> tuple[FormBrowser, str]:
    """A browser signed in as bob, and the CSRF token of his account page."""
    browser = fuzz.browsers.get("account")
    if browser is None:
        browser = fuzz.browsers["account"] = fuzz.run(signed_in(fuzz, *BOB))
        page = fuzz.run(browser.http.get("/account"))
        token = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf_token"})
        assert token is not None, page.text
        fuzz.account_csrf = str(token["value"])
    return browser, fuzz.account_csrf


@fuzz_settings(200)
@given(data=st.data())
def test_account_pages_signed_in(fuzz: Fuzz, data: st.DataObject) -> None:
    browser, csrf = account_browser(fuzz)
    path = data.draw(st.sampled_from(ACCOUNT_PATHS))
    valid = {
        "csrf_token": [csrf.encode(), csrf.upper().encode(), b"\xc3\xa9"],
        "state": [b"s"],
        "code": [b"c"],
        "done": [b"<fz-x>"],
    }
    case = data.draw(cases(path, valid, ("GET", "POST", "POST"), sticky=frozenset({"csrf_token"})))
    response = fuzz.run(send_async(browser, fuzz.server.issuer, case))
    count("account signed in", response)
    fz.check_page(response, fuzz.site)


# --- The demo relying party's callback ---------------------------------------------------------


@fuzz_settings(80)
@given(data=st.data())
def test_demo_callback(fuzz: Fuzz, data: st.DataObject) -> None:
    browser = fuzz.browsers.get("demo")
    if browser is None:
        browser = fuzz.browsers["demo"] = fuzz.browser()
    started = fuzz.run(browser.http.get("/demo/login"))
    state = redirect_params(started)[1]["state"].encode()
    valid = {
        "state": [state, state + b"x"],
        "iss": [fuzz.server.issuer.encode()],
        "code": [b"fz-code", fuzz.tokens["refresh"].encode()],
    }
    if data.draw(st.integers(0, 3)) == 0:
        valid |= {"error": [b"<fz-x>", b"access_denied"], "error_description": [b"<fz-x>"]}
    case = data.draw(cases("/demo/callback", valid, ("GET",)))
    response = fuzz.run(send_async(browser, fuzz.server.issuer, case))
    count("demo callback", response)
    fz.check_page(response, fuzz.site)


# --- The forms of each flow step ---------------------------------------------------------------


def form_of(page: httpx2.Response) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    """The inputs (name, value) and buttons (name, value) of the page's form."""
    form = BeautifulSoup(page.text, "html.parser").find("form")
    if form is None:
        return None
    inputs = [
        (str(i["name"]), str(i.get("value", ""))) for i in form.find_all("input") if i.get("name")
    ]
    buttons = [
        (str(b["name"]), str(b.get("value", ""))) for b in form.find_all("button") if b.get("name")
    ]
    return inputs, buttons


def signature(page: httpx2.Response) -> tuple[str, ...] | None:
    found = form_of(page) if page.status_code == 200 else None
    if found is None:
        return None
    inputs, buttons = found
    return tuple(sorted({n for n, _ in inputs} | {f"{n}={v}" for n, v in buttons}))


Reach = Callable[[Fuzz, FormBrowser], Awaitable[httpx2.Response]]


async def to_identify(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.open(authorize_url(*DEMO))


# A login the password page shows back (in its form and its "Not you?" button).
MARKED_LOGIN = "fz-pw<fz-x>\"fz-x'fz-x"


async def to_password(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.submit(await to_identify(fuzz, browser), login=MARKED_LOGIN)


async def to_register(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.open(authorize_url(*DEMO, prompt="create"))


async def to_register_code(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    name = f"fz-new-{time.monotonic_ns()}"
    return await browser.submit(
        await to_register(fuzz, browser),
        username=name,
        email=f"{name}@example.com",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )


async def to_reset_request(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.click(await to_password(fuzz, browser), ("_outcome", "forgot"))


async def to_reset_code(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.submit(await to_reset_request(fuzz, browser), email="fz-pw@example.com")


async def session_of(fuzz: Fuzz, name: str, login: str, password: str) -> FormBrowser:
    if name not in fuzz.browsers:
        fuzz.browsers[name] = await signed_in(fuzz, login, password)
    return fuzz.browsers[name]


async def to_consent(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    """Alice's SSO session asks consent-app's consent again each time (prompt=consent)."""
    session = await session_of(fuzz, "consent", *ALICE)
    browser.http.cookies = session.http.cookies
    return await browser.open(
        authorize_url(
            "consent-app",
            "https://consent.example/cb",
            scope="openid profile email",
            prompt="consent",
        )
    )


async def to_terms(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    """Bob's SSO session, at partner-app: its flow asks for the partner terms."""
    session = await session_of(fuzz, "terms", *BOB)
    browser.http.cookies = session.http.cookies
    return await browser.open(authorize_url("partner-app", "https://partner.example/cb"))


async def to_totp(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.sign_in(authorize_url(*DEMO), "fz-totp", PASSWORD)


async def to_choose(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.click(await to_totp(fuzz, browser), ("_outcome", "another_way"))


async def to_recovery_code(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.click(await to_choose(fuzz, browser), ("choice", "recovery_code"))


async def to_totp_setup(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    page = await browser.sign_in(authorize_url(*MFA), "fz-enroll", PASSWORD)
    return await browser.click(page, ("choice", "totp"))


async def to_passkey(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await browser.open(authorize_url("passwordless-app", "https://chat.example/cb"))


async def to_passkey_setup(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    page = await browser.sign_in(authorize_url(*MFA), "fz-enroll", PASSWORD)
    return await browser.click(page, ("choice", "passkey"))


async def account_action(fuzz: Fuzz, browser: FormBrowser, action: str) -> httpx2.Response:
    """The first page of an account page action of fz-change, just signed in (a finished
    action renews the session, so a copy of an older one would not do)."""
    await browser.sign_in(authorize_url(*DEMO), "fz-change", PASSWORD)
    page = await browser.http.get("/account")
    token = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf_token"})
    assert token is not None, page.text
    started = await browser.http.post(
        f"/account/actions/{action}", data={"csrf_token": str(token["value"])}
    )
    return await browser.open(started.headers["location"])


async def to_change_password(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await account_action(fuzz, browser, "change-password")


async def to_new_recovery_codes(fuzz: Fuzz, browser: FormBrowser) -> httpx2.Response:
    return await account_action(fuzz, browser, "new-recovery-codes")


FLOW_PAGES: dict[str, Reach] = {
    "identify": to_identify,
    "password": to_password,
    "register": to_register,
    "register-code": to_register_code,
    "reset-request": to_reset_request,
    "reset-code": to_reset_code,
    "consent": to_consent,
    "terms": to_terms,
    "totp": to_totp,
    "choose": to_choose,
    "recovery-code": to_recovery_code,
    "totp-setup": to_totp_setup,
    "passkey": to_passkey,
    "passkey-setup": to_passkey_setup,
    "change-password": to_change_password,
    "new-recovery-codes": to_new_recovery_codes,
}
# Typical values of the forms' text fields, for the cases that keep a field "valid".
TYPICAL = {
    "login": [b"fz-pw", b"alice", b"nobody@example.com"],
    "password": [b"wrong-password-1", PASSWORD.encode()],
    "password_confirm": [PASSWORD.encode()],
    "code": [b"123456", b"000000", b"1234-5678"],
    "email": [b"fz-pw@example.com", b"a@b"],
    "username": [b"fz-user", b"ab"],
    "name": [b"Fuzz"],
    "credential": [b'{"id":"x","rawId":"x","type":"public-key","response":{}}', b"{"],
}


@dataclass
class FlowTarget:
    browser: FormBrowser
    url: str
    signature: tuple[str, ...]
    reaches: int = 1


async def reach(fuzz: Fuzz, name: str) -> FlowTarget | None:
    browser = fuzz.browser()
    page = await FLOW_PAGES[name](fuzz, browser)
    found = signature(page)
    if found is None:
        await browser.close()
        return None
    return FlowTarget(browser, str(page.url), found)


FORM_NAMES = [
    *TYPICAL,
    "_step",
    "_outcome",
    "_switch_user",
    "choice",
    "decision",
    "remember",
    "confirm",
    "accept",
    "resend",
    "restart",
    "csrf_token",
]
HOWS = ["keep"] * 4 + ["drop", "empty", "hostile", "repeat"]


@dataclass
class FormPlan:
    """How to fill a form, drawn before the page is known (so that hypothesis can replay it
    whatever page the run is on): the page's fields are matched to `fields` by position."""

    fields: list[tuple[str, int, bytes]]
    order: list[int]
    csrf: str
    csrf_value: bytes
    button: tuple[bool, int, int]
    extras: fz.Pairs
    many: int
    where: str
    method: str
    forwarded_for: bytes
    body: fz.BodySpec


@st.composite
def form_plans(draw: st.DrawFn) -> FormPlan:
    return FormPlan(
        fields=draw(
            st.lists(
                st.tuples(st.sampled_from(HOWS), st.integers(0, 7), fz.values()),
                min_size=10,
                max_size=10,
            )
        ),
        order=draw(st.lists(st.integers(0, 99), min_size=24, max_size=24)),
        csrf=draw(st.sampled_from(["valid"] * 5 + ["missing", "hostile", "repeat", "other"])),
        csrf_value=draw(fz.values()),
        button=draw(st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 2))),
        extras=draw(st.lists(st.tuples(fz.names(FORM_NAMES), fz.values(False)), max_size=3)),
        many=draw(st.integers(40, 60)) if draw(st.integers(0, 15)) == 0 else 0,
        where=draw(st.sampled_from(["same"] * 8 + ["other run", "resume", "odd run"])),
        method=draw(st.sampled_from(["POST"] * 8 + ["GET", "PUT"])),
        forwarded_for=draw(fz.forwarded_for),
        body=draw(fz.bodies()),
    )


def form_case(plan: FormPlan, page: httpx2.Response, run_id: str) -> Case:
    """The plan applied to the page's form."""
    found = form_of(page)
    assert found is not None
    inputs, buttons = found
    csrf = next((v for n, v in inputs if n == "csrf_token"), "")
    valid: dict[str, list[bytes]] = {}
    for name, value in inputs:
        if name != "csrf_token":
            valid.setdefault(name, []).extend(
                [value.encode()] if value else TYPICAL.get(name, [b"x"])
            )
    pairs: fz.Pairs = []
    for (name, options), (how, pick, hostile) in zip(valid.items(), plan.fields * 3, strict=False):
        value = options[pick % len(options)]
        pairs += {
            "keep": [(name.encode(), value)],
            "drop": [],
            "empty": [(name.encode(), b"")],
            "hostile": [(name.encode(), hostile)],
            "repeat": [(name.encode(), value), (name.encode(), hostile)],
        }[how]
    pairs += plan.extras
    pairs = [p for _, p in sorted(zip(plan.order * 4, pairs, strict=False), key=lambda x: x[0])]
    token = {
        "valid": [csrf.encode()],
        "missing": [],
        "hostile": [plan.csrf_value],
        "repeat": [csrf.encode(), plan.csrf_value],
        "other": [csrf[::-1].encode()],
    }[plan.csrf]
    pairs = [(b"csrf_token", t) for t in token] + pairs
    use, index, choice = plan.button
    if buttons and use:
        name, value = buttons[index % len(buttons)]
        pairs.append((name.encode(), [value.encode(), b"<fz-x>", b""][choice]))
    pairs += [(f"f{i}".encode(), b"1") for i in range(plan.many)]
    url = httpx2.URL(str(page.url))
    path = {
        "same": url.raw_path.decode(),
        "other run": "/flow/fz-not-a-run",
        "resume": "/authorize/resume",
        "odd run": f"/flow/{run_id}%00",
    }[plan.where]
    query = [(b"run", run_id.encode())] if plan.where == "resume" else []
    headers = {"X-Forwarded-For": plan.forwarded_for}
    if plan.method == "GET":
        return Case("GET", path, query + pairs, None, fz.request_headers(None, headers), pairs)
    body = fz.encode_body(pairs, plan.body)
    return Case(plan.method, path, query, body, fz.request_headers(plan.body[0], headers), pairs)


async def follow_async(
    fuzz: Fuzz, browser: FormBrowser, response: httpx2.Response, targets: tuple[str, ...]
) -> None:
    for _ in range(4):
        if response.status_code not in fz.REDIRECTS:
            return
        location = response.headers["location"]
        if location.startswith("/"):
            location = fuzz.server.issuer + location
        if not location.startswith(fuzz.server.issuer + "/"):
            return
        response = await browser.http.get(location)
        fz.check_page(response, fuzz.site, targets, authorize=True)


CLIENT_OF_PAGE = {
    "consent": "consent-app",
    "terms": "partner-app",
    "passkey": "passwordless-app",
    "passkey-setup": "mfa-app",
    "totp-setup": "mfa-app",
    "change-password": "gatehouse-account",
    "new-recovery-codes": "gatehouse-account",
}
MAX_REACHES = 6


def flow_page(fuzz: Fuzz, name: str) -> tuple[FlowTarget, httpx2.Response]:
    """The run of the page `name`, and the page as it is now: reached again when a case moved
    the run on (up to MAX_REACHES times; then a fresh sign-in page will do)."""
    target = fuzz.targets.get(name)
    reaches = 0
    if target is not None:
        current = fuzz.run(target.browser.http.get(target.url))
        if signature(current) == target.signature:
            return target, current
        del fuzz.targets[name]
        fuzz.run(target.browser.close())
        reaches = target.reaches
    again = fuzz.run(reach(fuzz, name if reaches < MAX_REACHES else "identify"))
    if again is None:  # the page cannot be had again (say, the terms were accepted)
        again = fuzz.run(reach(fuzz, "identify"))
    again.reaches = reaches + 1
    fuzz.targets[name] = again
    return again, fuzz.run(again.browser.http.get(again.url))


@pytest.mark.parametrize("name", list(FLOW_PAGES))
@fuzz_settings(110)
@given(plan=form_plans())
def test_flow_forms(fuzz: Fuzz, name: str, plan: FormPlan) -> None:
    target, current = flow_page(fuzz, name)
    targets = fuzz.site.redirect_uris[CLIENT_OF_PAGE.get(name, "demo-rp")]
    run_id = httpx2.URL(target.url).path.rsplit("/", 1)[-1]
    case = form_case(plan, current, run_id)
    response = fuzz.run(send_async(target.browser, fuzz.server.issuer, case))
    count(f"flow form {name}", response)
    fz.check_page(response, fuzz.site, targets, authorize=True)
    fuzz.run(follow_async(fuzz, target.browser, response, targets))


# --- Found by fuzzing: pinned until fixed -------------------------------------------------------

DEEP = b"[" * 5000


def nested_jwt(in_payload: bool) -> str:
    """A JWT of the JWT client whose payload, or header, is JSON nested 5000 deep."""
    header = fz.b64url(b'{"alg":"RS256","kid":"jwt-client-1"}')
    claims = fz.b64url(b'{"iss":"jwt-client","sub":"jwt-client"}')
    deep = fz.b64url(DEEP)
    return f"{header}.{deep}.AAAA" if in_payload else f"{deep}.{claims}.AAAA"


def assertion_of(token: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion": token,
        "client_assertion_type": ASSERTION_TYPE.decode(),
    }


Check = Callable[[Fuzz, httpx2.Response], None]
NESTED: dict[str, tuple[Callable[[Fuzz], httpx2.Response], Check]] = {
    "authorize claims": (
        lambda f: f.http.get(authorize_url(*DEMO, claims=DEEP.decode())),
        lambda f, r: fz.check_page(r, f.site, f.site.redirect_uris["demo-rp"], authorize=True),
    ),
    "client assertion payload": (
        lambda f: f.http.post("/token", data=assertion_of(nested_jwt(True))),
        lambda f, r: fz.check_token(r, f.site),
    ),
    "client assertion header": (
        lambda f: f.http.post("/token", data=assertion_of(nested_jwt(False))),
        lambda f, r: fz.check_token(r, f.site),
    ),
    "bearer token": (
        lambda f: f.http.get("/userinfo", headers={"Authorization": f"Bearer {nested_jwt(False)}"}),
        lambda f, r: fz.check_userinfo(r, f.site),
    ),
    "id_token_hint": (
        lambda f: f.http.get(authorize_url(*DEMO, id_token_hint=nested_jwt(False))),
        lambda f, r: fz.check_page(r, f.site, f.site.redirect_uris["demo-rp"], authorize=True),
    ),
    "logout hint": (
        lambda f: f.http.get("/logout", params={"id_token_hint": nested_jwt(False)}),
        lambda f, r: fz.check_page(r, f.site),
    ),
    "introspected token": (
        lambda f: f.http.post(
            "/introspect", auth=("service", SERVICE_SECRET), data={"token": nested_jwt(True)}
        ),
        lambda f, r: fz.check_introspect(r, f.site),
    ),
}
@pytest.mark.parametrize("place", list(NESTED))
def test_deeply_nested_json_gets_a_designed_answer(fuzz: Fuzz, place: str) -> None:
    send_it, check = NESTED[place]
    response = send_it(fuzz)
    count("deeply nested json", response)
    check(fuzz, response)


@pytest.mark.parametrize(
    "aud", [[{}], {"a": 1}, [["x"]]], ids=["list-of-object", "object", "list-of-list"]
)
def test_a_client_assertion_with_an_object_audience_is_invalid_client(fuzz: Fuzz, aud: Any) -> None:
    assertion = fz.rs256(
        JWT_CLIENT_KEY,
        {"alg": "RS256", "kid": "jwt-client-1"},
        {
            "iss": "jwt-client",
            "sub": "jwt-client",
            "aud": aud,
            "exp": int(time.time()) + 60,
            "jti": f"aud-{time.time_ns()}",
        },
    )
    response = fuzz.http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": DEMO[1],
            "client_assertion": assertion,
            "client_assertion_type": ASSERTION_TYPE.decode(),
        },
    )
    count("client assertion audience", response)
    fz.check_token(response, fuzz.site)
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("resource", ["http://[", "https://[::1/api", "//["])
def test_a_malformed_resource_is_invalid_target(fuzz: Fuzz, resource: str) -> None:
    response = fuzz.http.post(
        "/token",
        auth=("service", SERVICE_SECRET),
        data={"grant_type": "client_credentials", "resource": resource},
    )
    count("malformed resource", response)
    fz.check_token(response, fuzz.site)
    assert response.json()["error"] == "invalid_target"
