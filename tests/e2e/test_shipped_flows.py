"""The shipped flows.yaml end to end, through a real server that mails codes to a real SMTP
server: sign-up (prompt=create and the "Create an account" link), recovery by email, the partner
journey, "not you?", the Back button, and reloading flows.yaml while serving."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, ROOT, RunningServer, gatehouse, mailing_to, start_server
from tests.e2e.tokens import CALLBACK, token_request, unverified_claims
from tests.mail_catcher import MailCatcher

CAROL = ("carol", "carol-password-1", "carol@example.com")


@pytest.fixture(scope="module")
def flows_server(tmp_path_factory: pytest.TempPathFactory, mail: MailCatcher) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("shipped-flows")
    flows = workdir / "flows.yaml"
    shutil.copy(ROOT / "flows.yaml", flows)
    running = start_server(workdir, flows_file=flows, flows_reload_interval=0.2,
                           **mailing_to(mail.port))
    added = gatehouse(running.config, "users", "add", CAROL[0], "--email", CAROL[2],
                      "--password-stdin", stdin=CAROL[1] + "\n")
    assert added.returncode == 0, added.stderr
    yield running
    running.stop()


@pytest.fixture
async def web(flows_server: RunningServer) -> AsyncIterator[FormBrowser]:
    browser = FormBrowser(flows_server.issuer)
    yield browser
    await browser.close()


def authorize(**extra: str) -> str:
    return "/authorize?" + str(httpx2.QueryParams({
        "client_id": "demo-rp", "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid profile email", "state": "st", "nonce": "n", **extra,
    }))


async def id_token_claims(server: RunningServer, answer: httpx2.Response) -> dict[str, object]:
    code = redirect_params(answer)[1]["code"]
    response = await token_request(server, grant_type="authorization_code", code=code,
                                   redirect_uri=CALLBACK)
    assert response.status_code == 200, response.text
    return unverified_claims(response.json()["id_token"])


async def sign_up(web: FormBrowser, mail: MailCatcher, page: httpx2.Response, who: str) -> httpx2.Response:
    assert "Create your account" in page_text(page)
    page = await web.submit(page, username=who, email=f"{who}@example.com", name=f"{who.title()} Doe",
                            password="a brand new passphrase", password_confirm="a brand new passphrase")
    assert "Check your email" in page_text(page) and 'autocomplete="one-time-code"' in page.text
    page = await web.submit(page, code=mail.code_for(f"{who}@example.com"))
    assert "Accept the terms of service" in page_text(page), page_text(page)
    return await web.click(page, ("decision", "accept"), accept="yes")


async def test_prompt_create_runs_the_register_flow(
    flows_server: RunningServer, web: FormBrowser, mail: MailCatcher
) -> None:
    answer = await sign_up(web, mail, await web.open(authorize(prompt="create")), "dana")
    claims = await id_token_claims(flows_server, answer)
    assert (claims["amr"], claims["acr"]) == (["pwd"], "urn:gatehouse:loa:1")
    async with httpx2.AsyncClient() as http:
        discovery = (await http.get(f"{flows_server.issuer}/.well-known/openid-configuration")).json()
    assert "create" in discovery["prompt_values_supported"]
    again = FormBrowser(flows_server.issuer)
    try:
        answer = await again.sign_in(authorize(), "dana@example.com", "a brand new passphrase")
        assert (await id_token_claims(flows_server, answer))["sub"] == claims["sub"]
    finally:
        await again.close()


async def test_the_create_an_account_link_leads_to_sign_up(
    flows_server: RunningServer, web: FormBrowser, mail: MailCatcher
) -> None:
    page = await web.open(authorize())
    page = await web.click(page, ("_outcome", "register"))
    answer = await sign_up(web, mail, page, "erin")
    assert redirect_params(answer)[1]["state"] == "st"


def add_user(server: RunningServer, name: str) -> str:
    """A user added with the CLI; their email address."""
    email = f"{name}@example.com"
    added = gatehouse(server.config, "users", "add", name, "--email", email,
                      "--password-stdin", stdin=f"{name}-password-1\n")
    assert added.returncode == 0, added.stderr
    return email


def without(text: str, *varying: str) -> str:
    """A page's text with the parts that differ by design (the address shown) taken out."""
    for part in varying:
        text = text.replace(part, "ADDRESS")
    return text


async def test_sign_up_does_not_tell_whether_an_address_has_an_account(
    flows_server: RunningServer, mail: MailCatcher
) -> None:
    taken = add_user(flows_server, "heidi")
    pages = []
    for who, email in (("frank", "frank@example.com"), ("grace", taken)):
        web = FormBrowser(flows_server.issuer)
        try:
            page = await web.open(authorize(prompt="create"))
            page = await web.submit(page, username=who, email=email, name="",
                                    password="a brand new passphrase",
                                    password_confirm="a brand new passphrase")
            pages.append((page.status_code, without(page_text(page), "f•••@", "h•••@")))
            wrong = await web.submit(page, code="12345678")
            pages.append((wrong.status_code, without(page_text(wrong), "f•••@", "h•••@")))
        finally:
            await web.close()
    assert pages[0] == pages[2] and pages[1] == pages[3] and "Check your email" in pages[0][1]
    notice = mail.wait_for(taken).get_content()
    assert "has an account already" in notice and "Forgot your password?" in notice
    assert mail.code_for("frank@example.com")  # the free address got a code


async def test_password_reset_does_not_tell_whether_an_address_has_an_account(
    flows_server: RunningServer,
) -> None:
    pages = []
    for email in (add_user(flows_server, "ivan"), "nobody@example.com"):
        web = FormBrowser(flows_server.issuer)
        try:
            page = await web.submit(await web.open(authorize()), login="someone")
            page = await web.click(page, ("_outcome", "forgot"))
            page = await web.submit(page, email=email)
            pages.append(without(page_text(page), email))
            wrong = await web.submit(page, code="12345678", password="a brand new passphrase",
                                     password_confirm="a brand new passphrase")
            pages.append(without(page_text(wrong), email))
        finally:
            await web.close()
    assert pages[0] == pages[2] and pages[1] == pages[3]
    assert "That code is not valid or has expired." in pages[1]


async def test_recovery_resets_the_password_by_email(
    flows_server: RunningServer, web: FormBrowser, mail: MailCatcher
) -> None:
    page = await web.submit(await web.open(authorize()), login=CAROL[0])
    page = await web.click(page, ("_outcome", "forgot"))
    page = await web.submit(page, email=CAROL[2])
    assert f"If an account exists for {CAROL[2]}" in page_text(page)
    new = "carol's new passphrase"
    page = await web.submit(page, code=mail.code_for(CAROL[2]), password=new, password_confirm=new)
    assert "Enter your password" in page_text(page) and CAROL[0] in page_text(page)
    answer = await web.submit(page, password=new)
    claims = await id_token_claims(flows_server, answer)
    assert claims["amr"] == ["pwd"]
    old = FormBrowser(flows_server.issuer)
    try:
        refused = await old.sign_in(authorize(), CAROL[0], CAROL[1])
        assert "Incorrect username or password" in page_text(refused)
    finally:
        await old.close()


async def test_the_partner_journey_asks_for_the_partner_terms(
    flows_server: RunningServer, web: FormBrowser
) -> None:
    url = "/authorize?" + str(httpx2.QueryParams({
        "client_id": "partner-app", "redirect_uri": "https://partner.example/cb",
        "response_type": "code", "scope": "openid", "code_challenge_method": "S256",
        "code_challenge": "x" * 43}))
    page = await web.sign_in(url, *ALICE)
    assert "Accept the terms of service" in page_text(page)
    assert "https://example.com/partner-terms" in page.text
    declined = await web.click(page, ("decision", "decline"))
    assert redirect_params(declined)[1]["error_description"] == "The partner terms were declined."
    page = await web.sign_in(url, *ALICE)
    answer = await web.click(page, ("decision", "accept"), accept="yes")
    assert "code" in redirect_params(answer)[1]
    answer = await web.open(url + "&prompt=login")
    answer = await web.submit(await web.submit(answer, login=ALICE[0]), password=ALICE[1])
    assert "code" in redirect_params(answer)[1]  # accepted once: not asked again


async def test_not_you_goes_back_to_identify(flows_server: RunningServer, web: FormBrowser) -> None:
    page = await web.submit(await web.open(authorize()), login="carol")
    assert "Not carol? Use another account" in page_text(page)
    page = await web.click(page, ("_switch_user", "1"))
    assert 'name="login"' in page.text and 'value=""' in page.text
    answer = await web.submit(await web.submit(page, login=ALICE[0]), password=ALICE[1])
    assert "code" in redirect_params(answer)[1]


async def test_a_form_from_the_back_button_shows_the_current_step(
    flows_server: RunningServer, web: FormBrowser
) -> None:
    identify = await web.open(authorize())
    password = await web.submit(identify, login="alice")
    again = await web.submit(identify, login="mallory")  # Back, then submit the old page
    assert again.status_code == 200 and "Signing in as alice" in page_text(again)
    answer = await web.submit(password, password=ALICE[1])
    assert "code" in redirect_params(answer)[1]


def wait_for(condition: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


async def test_flows_reload_on_change_and_keep_runs_in_flight(
    tmp_path: Path, mail: MailCatcher
) -> None:
    flows = tmp_path / "flows.yaml"
    shutil.copy(ROOT / "flows.yaml", flows)
    server = start_server(tmp_path, flows_file=flows, flows_reload_interval=0.2)
    web = FormBrowser(server.issuer)
    try:
        in_flight = await web.open(authorize())
        assert 'name="login"' in in_flight.text and 'name="password"' not in in_flight.text
        text = flows.read_text()
        flows.write_text(text.replace("default_flow: default", "default_flow: one-page"))
        wait_for(lambda: "loaded" in server.log.read_text())
        newcomer = FormBrowser(server.issuer)
        fresh = await newcomer.open(authorize())
        await newcomer.close()
        assert 'name="password"' in fresh.text and 'name="login"' in fresh.text
        password = await web.submit(in_flight, login="alice")  # the old version's next step
        assert "Signing in as alice" in page_text(password)
        flows.write_text("flows: [broken\n")
        wait_for(lambda: "is invalid; the previous flows stay in use" in server.log.read_text())
        assert "code" in redirect_params(await web.submit(password, password=ALICE[1]))[1]
        flows.write_text(text)
        server.process.send_signal(signal.SIGHUP)
        wait_for(lambda: server.log.read_text().count("loaded") >= 2)
    finally:
        await web.close()
        server.stop()


async def test_a_session_from_another_client_still_runs_this_clients_required_actions(
    flows_server: RunningServer, web: FormBrowser
) -> None:
    """Single sign-on answers through the client's own flow: its terms, and the second factor
    it requires, are asked on top of a session that was good enough for another client."""
    added = gatehouse(flows_server.config, "users", "add", "dora", "--password-stdin",
                      stdin="dora-password-1\n")
    assert added.returncode == 0, added.stderr
    signed_in = await web.sign_in(authorize(), "dora", "dora-password-1")
    assert "code" in redirect_params(signed_in)[1]
    again = await web.open(authorize())
    assert "code" in redirect_params(again)[1]  # same client: answered at once, no page
    partner = await web.open("/authorize?" + str(httpx2.QueryParams({
        "client_id": "partner-app", "redirect_uri": "https://partner.example/cb",
        "response_type": "code", "scope": "openid", "code_challenge_method": "S256",
        "code_challenge": "x" * 43})))
    assert partner.status_code == 200 and "https://example.com/partner-terms" in partner.text
    payroll = "/authorize?" + str(httpx2.QueryParams({
        "client_id": "mfa-app", "redirect_uri": "https://mfa.example/cb", "response_type": "code",
        "scope": "openid", "code_challenge_method": "S256", "code_challenge": "x" * 43}))
    page = await web.open(payroll)
    assert page.status_code == 200 and "Set up a second way to sign in" in page_text(page)
    refused = await web.open(payroll + "&prompt=none")
    assert redirect_params(refused)[1]["error"] == "interaction_required"
