"""Sign-in end to end: a real server, a form-driving browser, and authlib as the OAuth client.

ID tokens are verified against the published JWKS with joserfc, as a relying party would.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx2
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.browser import FormBrowser, page_text, redirect_params, response_params, with_mode
from tests.e2e.server import ALICE, CONFIDENTIAL_SECRET, POST_SECRET, RunningServer

RP_CALLBACK = "https://rp.example/callback"


def rp_client(server: RunningServer, **kwargs: Any) -> AsyncOAuth2Client:
    options: dict[str, Any] = {
        "client_id": "demo-rp", "client_secret": CONFIDENTIAL_SECRET,
        "redirect_uri": RP_CALLBACK, "scope": "openid profile email",
        "code_challenge_method": "S256", **kwargs,
    }
    return AsyncOAuth2Client(**options)


def authorization_url(oauth: AsyncOAuth2Client, server: RunningServer, **params: str) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    url, _ = oauth.create_authorization_url(
        f"{server.issuer}/authorize", code_verifier=verifier, **params
    )
    return url, verifier


async def verify_id_token(server: RunningServer, id_token: str, audience: str) -> dict[str, Any]:
    async with httpx2.AsyncClient() as http:
        jwks = (await http.get(f"{server.issuer}/jwks")).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True}, iat={"essential": True},
    ).validate(token.claims)
    return token.claims


async def test_code_flow_with_pkce_issues_verified_id_token_and_userinfo(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """oidcc-ensure-request-with-valid-pkce-succeeds."""
    async with rp_client(server) as oauth:
        extra = with_mode(mode, {"state": "s-123", "nonce": "n-456"})
        url, verifier = authorization_url(oauth, server, **extra)
        target, params = response_params(await browser.sign_in(url, *ALICE), mode)
        assert target == RP_CALLBACK
        assert params["state"] == "s-123"
        assert params["iss"] == server.issuer  # RFC 9207
        token = await oauth.fetch_token(
            f"{server.issuer}/token", code=params["code"], code_verifier=verifier
        )
        assert token["token_type"] == "Bearer" and token["scope"] == "openid profile email"
        claims = await verify_id_token(server, token["id_token"], "demo-rp")
        userinfo = (await oauth.get(f"{server.issuer}/userinfo")).json()
    assert claims["nonce"] == "n-456"
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:gatehouse:loa:1"
    assert {"auth_time", "sid", "sub", "at_hash"} <= claims.keys()
    assert "email" not in claims  # code flow: profile claims come from userinfo
    assert userinfo == {
        "sub": claims["sub"], "name": "Alice Example", "preferred_username": "alice",
        "email": "alice@example.com", "email_verified": True,
    }


async def test_second_authorize_with_session_cookie_skips_the_pages(
    server: RunningServer, browser: FormBrowser
) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server, state="first")
        first = redirect_params(await browser.sign_in(url, *ALICE))[1]
        url, verifier = authorization_url(oauth, server, state="second", nonce="again")
        response = await browser.http.get(url)
        target, params = redirect_params(response)
        assert target == RP_CALLBACK and params["state"] == "second" and "code" in params
        token = await oauth.fetch_token(f"{server.issuer}/token", code=params["code"], code_verifier=verifier)
    claims = await verify_id_token(server, token["id_token"], "demo-rp")
    assert params["code"] != first["code"]
    assert claims["nonce"] == "again"


async def test_prompt_login_shows_the_pages_even_with_a_session(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """oidcc-prompt-login: signing in again answers with a new code."""
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
        await browser.sign_in(url, *ALICE)
        url, _ = authorization_url(oauth, server, **with_mode(mode, {"prompt": "login", "state": "again"}))
        page = await browser.open(url)
    assert page.status_code == 200 and 'name="login"' in page.text
    answer = await browser.submit(await browser.submit(page, login=ALICE[0]), password=ALICE[1])
    target, params = response_params(answer, mode)
    assert target == RP_CALLBACK and params["state"] == "again" and "code" in params


async def test_prompt_none_without_session_answers_login_required(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """oidcc-prompt-none-not-logged-in."""
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server, **with_mode(mode, {"prompt": "none", "state": "st"}))
        target, params = response_params(await browser.http.get(url), mode)
    assert target == RP_CALLBACK
    assert params["error"] == "login_required" and params["state"] == "st"
    assert params["iss"] == server.issuer


async def test_public_client_with_pkce_and_no_secret(server: RunningServer, browser: FormBrowser) -> None:
    async with AsyncOAuth2Client(
        client_id="public-app", redirect_uri="https://spa.example/callback", scope="openid",
        token_endpoint_auth_method="none", code_challenge_method="S256",
    ) as oauth:
        url, verifier = authorization_url(oauth, server, nonce="pub")
        _, params = redirect_params(await browser.sign_in(url, *ALICE))
        token = await oauth.fetch_token(f"{server.issuer}/token", code=params["code"], code_verifier=verifier)
    claims = await verify_id_token(server, token["id_token"], "public-app")
    assert claims["nonce"] == "pub"


async def test_a_client_signs_in_through_the_flow_it_names(server: RunningServer, browser: FormBrowser) -> None:
    async with AsyncOAuth2Client(
        client_id="one-page-app", redirect_uri="https://one.example/cb", scope="openid",
        token_endpoint_auth_method="none", code_challenge_method="S256",
    ) as oauth:
        url, verifier = authorization_url(oauth, server, login_hint="alice")
        page = await browser.open(url)
        assert 'name="login"' in page.text and 'name="password"' in page.text
        assert 'value="alice"' in page.text
        _, params = redirect_params(await browser.submit(page, login="alice", password=ALICE[1]))
        token = await oauth.fetch_token(f"{server.issuer}/token", code=params["code"], code_verifier=verifier)
    claims = await verify_id_token(server, token["id_token"], "one-page-app")
    assert claims["amr"] == ["pwd"]


async def test_public_client_without_pkce_is_refused(server: RunningServer, browser: FormBrowser) -> None:
    response = await browser.http.get("/authorize", params={
        "client_id": "public-app", "redirect_uri": "https://spa.example/callback",
        "response_type": "code", "scope": "openid", "state": "x",
    })
    _, params = redirect_params(response)
    assert params["error"] == "invalid_request" and "code_challenge" in params["error_description"]


async def test_client_secret_post(server: RunningServer, browser: FormBrowser) -> None:
    async with AsyncOAuth2Client(
        client_id="post-client", client_secret=POST_SECRET, redirect_uri="https://post.example/cb",
        scope="openid", token_endpoint_auth_method="client_secret_post",
    ) as oauth:
        url, _ = oauth.create_authorization_url(f"{server.issuer}/authorize")
        _, params = redirect_params(await browser.sign_in(url, *ALICE))
        token = await oauth.fetch_token(f"{server.issuer}/token", code=params["code"])
    await verify_id_token(server, token["id_token"], "post-client")


async def _fresh_code(server: RunningServer, browser: FormBrowser) -> tuple[str, str]:
    async with rp_client(server) as oauth:
        url, verifier = authorization_url(oauth, server)
        _, params = redirect_params(await browser.sign_in(url, *ALICE))
    return params["code"], verifier


async def _redeem(server: RunningServer, code: str, verifier: str | None, **extra: str) -> httpx2.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{server.issuer}/token", data=data, auth=("demo-rp", CONFIDENTIAL_SECRET))


async def test_code_is_single_use(server: RunningServer, browser: FormBrowser) -> None:
    code, verifier = await _fresh_code(server, browser)
    first = await _redeem(server, code, verifier)
    second = await _redeem(server, code, verifier)
    assert first.status_code == 200
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert second.headers["cache-control"] == "no-store"


async def test_wrong_pkce_verifier_is_invalid_grant(server: RunningServer, browser: FormBrowser) -> None:
    code, _ = await _fresh_code(server, browser)
    response = await _redeem(server, code, secrets.token_urlsafe(48))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_missing_pkce_verifier_is_invalid_grant(server: RunningServer, browser: FormBrowser) -> None:
    code, _ = await _fresh_code(server, browser)
    response = await _redeem(server, code, None)
    assert response.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_match_at_the_token_endpoint(server: RunningServer, browser: FormBrowser) -> None:
    code, verifier = await _fresh_code(server, browser)
    response = await _redeem(server, code, verifier, redirect_uri="https://rp.example/other")
    assert response.json()["error"] == "invalid_grant"


async def test_wrong_client_secret_is_401_invalid_client(server: RunningServer, browser: FormBrowser) -> None:
    code, verifier = await _fresh_code(server, browser)
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{server.issuer}/token", auth=("demo-rp", "wrong-secret"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK,
            "code_verifier": verifier})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


async def test_code_issued_to_another_client_is_refused(server: RunningServer, browser: FormBrowser) -> None:
    code, verifier = await _fresh_code(server, browser)
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{server.issuer}/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK,
            "code_verifier": verifier, "client_id": "post-client", "client_secret": POST_SECRET})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_unknown_user_and_wrong_password_get_the_same_page(
    server: RunningServer, browser: FormBrowser
) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
    answers = []
    for login, password in (("alice", "not-her-password"), ("nobody-here", "whatever-123")):
        page = await browser.submit(await browser.open(url), login=login)
        page = await browser.submit(page, password=password)
        answers.append((page.status_code, page_text(page).replace(login, "LOGIN")))
    assert answers[0] == answers[1]
    assert "Incorrect username or password." in answers[0][1]


async def test_login_hint_prefills_the_identify_page(
    server: RunningServer, browser: FormBrowser, mode: str
) -> None:
    """oidcc-login-hint: the hinted user signs in with the prefilled value."""
    async with rp_client(server) as oauth:
        extra = with_mode(mode, {"login_hint": "alice@example.com", "state": "h"})
        url, _ = authorization_url(oauth, server, **extra)
    page = await browser.open(url)
    assert 'value="alice@example.com"' in page.text
    answer = await browser.submit(await browser.submit(page), password=ALICE[1])
    target, params = response_params(answer, mode)
    assert target == RP_CALLBACK and params["state"] == "h" and "code" in params


async def test_login_hint_is_escaped(server: RunningServer, browser: FormBrowser) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server, login_hint='"><script>alert(1)</script>')
    page = await browser.open(url)
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text


async def test_sign_in_by_email(server: RunningServer, browser: FormBrowser) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
    _, params = redirect_params(await browser.sign_in(url, "ALICE@example.com", ALICE[1]))
    assert "code" in params


async def test_unknown_client_gets_an_error_page_not_a_redirect(browser: FormBrowser) -> None:
    response = await browser.http.get("/authorize", params={
        "client_id": "nope", "redirect_uri": "https://evil.example/", "response_type": "code",
        "scope": "openid"})
    assert response.status_code == 400 and "location" not in response.headers
    assert "Unknown application" in page_text(response)


async def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    browser: FormBrowser, mode: str
) -> None:
    """oidcc-ensure-registered-redirect-uri: neither a redirect nor a form posted to that URI."""
    for redirect_uri in ("https://evil.example/callback", RP_CALLBACK + "/", RP_CALLBACK + "?x=1"):
        response = await browser.http.get("/authorize", params=with_mode(mode, {
            "client_id": "demo-rp", "redirect_uri": redirect_uri, "response_type": "code",
            "scope": "openid", "state": "s"}))
        assert response.status_code == 400 and "location" not in response.headers
        assert 'id="form-post"' not in response.text
        assert "Invalid redirect URI" in page_text(response)


async def test_other_authorize_errors_go_back_to_the_client(browser: FormBrowser, mode: str) -> None:
    """Including oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported (an
    unsigned request object is invalid: JAR takes only signed ones) and
    oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported (rejected)."""
    base = with_mode(mode, {"client_id": "demo-rp", "redirect_uri": RP_CALLBACK, "state": "k"})
    cases = [
        ({"response_type": "token", "scope": "openid"}, "unsupported_response_type"),
        ({"response_type": "code", "scope": "profile"}, "invalid_scope"),
        ({"response_type": "code", "scope": "openid", "code_challenge": "x" * 43,
          "code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "code", "scope": "openid", "request": "eyJ.e30."}, "invalid_request_object"),
        ({"response_type": "code", "scope": "openid", "request_uri": "https://rp.example/request.jwt"},
         "request_uri_not_supported"),
    ]
    for extra, error in cases:
        response = await browser.http.get("/authorize", params={**base, **extra})
        target, params = response_params(response, mode)
        assert target == RP_CALLBACK
        assert params["error"] == error and params["state"] == "k" and "iss" in params


async def test_authorize_accepts_post(server: RunningServer, browser: FormBrowser, mode: str) -> None:
    """oidcc-ensure-post-request-succeeds: the request by POST, then the pages, then the answer."""
    response = await browser.http.post("/authorize", data=with_mode(mode, {
        "client_id": "demo-rp", "redirect_uri": RP_CALLBACK, "response_type": "code",
        "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "state": "posted"}))
    assert response.status_code == 303 and response.headers["location"].startswith("/flow/")
    page = await browser.open(response.headers["location"])
    answer = await browser.submit(await browser.submit(page, login=ALICE[0]), password=ALICE[1])
    target, params = response_params(answer, mode)
    assert target == RP_CALLBACK and params["state"] == "posted" and "code" in params


async def test_form_without_csrf_token_is_refused(server: RunningServer, browser: FormBrowser) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
    page = await browser.open(url)
    response = await browser.http.post(str(page.url), data={"login": "alice"})
    assert response.status_code == 400 and "This form has expired" in page_text(response)


async def test_a_run_answers_only_the_browser_that_started_it(
    server: RunningServer, browser: FormBrowser
) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
    page = await browser.open(url)
    other = FormBrowser(server.issuer)
    try:
        stolen = await other.http.get(str(page.url))
    finally:
        await other.close()
    assert stolen.status_code == 410 and 'name="login"' not in stolen.text


async def test_userinfo_rejects_missing_and_bad_tokens(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        missing = await http.get(f"{server.issuer}/userinfo")
        bad = await http.get(f"{server.issuer}/userinfo", headers={"Authorization": "Bearer abc.def.ghi"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "error=" not in missing.headers["www-authenticate"]
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["www-authenticate"]


async def test_pages_follow_ui_locales_then_accept_language(server: RunningServer, mode: str) -> None:
    """oidcc-ui-locales: the pages follow it, and signing in on them answers the client."""
    async with rp_client(server) as oauth:
        extra = with_mode(mode, {"ui_locales": "fr-CA en", "state": "fr"})
        url_fr, _ = authorization_url(oauth, server, **extra)
        url, _ = authorization_url(oauth, server)
    plain, german_first = FormBrowser(server.issuer), FormBrowser(
        server.issuer, headers={"Accept-Language": "de, fr;q=0.8, en;q=0.5"})
    try:
        by_ui_locales = await plain.open(url_fr)
        answer = await plain.submit(await plain.submit(by_ui_locales, login=ALICE[0]), password=ALICE[1])
        by_header = await german_first.open(url)
        english = await FormBrowser(server.issuer).open(url)
    finally:
        await plain.close()
        await german_first.close()
    assert "Nom d’utilisateur ou e-mail" in by_ui_locales.text and 'lang="fr"' in by_ui_locales.text
    target, params = response_params(answer, mode)
    assert target == RP_CALLBACK and params["state"] == "fr" and "code" in params
    assert "Nom d’utilisateur ou e-mail" in by_header.text
    assert "Username or email" in english.text


async def test_pages_carry_security_headers_and_client_branding(
    server: RunningServer, browser: FormBrowser
) -> None:
    async with rp_client(server) as oauth:
        url, _ = authorization_url(oauth, server)
    page = await browser.open(url)
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "Gatehouse Demo" in page.text and "https://rp.example/privacy" in page.text
    assert '<img class="brand-logo" src="https://rp.example/logo.png" alt="Gatehouse Demo">' in page.text
    assert 'autocomplete="username webauthn"' in page.text  # passkeys in the autofill too
    password_page = await browser.submit(page, login="alice")
    assert 'autocomplete="current-password"' in password_page.text


async def test_discovery_matches_the_endpoints(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        metadata = (await http.get(f"{server.issuer}/.well-known/openid-configuration")).json()
        jwks = (await http.get(metadata["jwks_uri"])).json()
    assert metadata["issuer"] == server.issuer
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert all("d" not in key and "p" not in key for key in jwks["keys"])  # no private parts
    assert {key["alg"] for key in jwks["keys"]} == {"RS256", "ES256"}
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
