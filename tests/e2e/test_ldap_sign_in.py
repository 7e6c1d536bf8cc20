"""Signing in with the company directory end to end: a real server whose `password` step asks a
real slapd over ldaps:// (the tests' own CA) about people it does not know. A person of the
directory signs in through the pages, always as the same `sub` (from entryUUID), with their
directory name and groups in the ID token; a wrong password or a login that tries to widen the
search is refused like any other; locked, disabled and expired accounts (OpenLDAP's password
policies, and Active Directory's attributes emulated) are told why; a password to change is
changed in the directory through the pages; and a directory that is down gives the page again
and counts in the metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx2
import pytest

from steps.user_directory import local_user_id
from tests.e2e.browser import FormBrowser, page_text, redirect_params
from tests.e2e.server import ALICE, RunningServer, client_settings, gatehouse, start_server
from tests.e2e.test_sign_in import RP_CALLBACK, authorization_url, rp_client
from tests.e2e.tokens import code_flow, password_sign_in
from tests.ldap_server import PEOPLE, SERVICE, LdapServer, start_slapd
from tests.observe.support import metric_values
from tests.ports import free_port

FLOWS = """\
flows:
  default:
    steps:
      identify: {type: identify, on: {success: password}}
      password:
        type: password
        options: {directory: corp, change_expired: true}
        on:
          password_expired: change
          success:
            - {to: deny, message: Contractors use the partner portal., if: {in_group: contractors}}
            - {to: done}
      change:
        type: change_password
        options: {directory: corp}
        on: {success: done}
  active-directory:
    steps:
      identify: {type: identify, on: {success: password}}
      password:
        type: password
        options: {directory: ad}
        on: {success: done}
"""
AD_AUTHORIZE = "/authorize?" + str(httpx2.QueryParams({
    "client_id": "other-rp", "redirect_uri": "https://other.example/cb", "response_type": "code",
    "scope": "openid", "state": "s"}))
SCOPE = "openid profile email groups"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()


def directory(servers: list[str], slapd: LdapServer) -> dict[str, object]:
    return {"type": "ldap", "servers": servers, "ca_file": str(slapd.ca_file),
            "bind_dn": SERVICE[0], "bind_password": SERVICE[1], "user_base": PEOPLE,
            "timeout": 2}


def serve(workdir_factory: pytest.TempPathFactory, servers: list[str], slapd: LdapServer) -> RunningServer:
    workdir = workdir_factory.mktemp("ldap-sign-in")
    flows = workdir / "flows.yaml"
    flows.write_text(FLOWS)
    port = free_port()
    demo, other = client_settings(f"http://127.0.0.1:{port}")[:2]
    return start_server(
        workdir, flows, port=port,
        clients=[{**demo, "scope": SCOPE}, {**other, "flow": "active-directory"}],
        directories={"corp": directory(servers, slapd),
                     "ad": {**directory(servers, slapd), "flavor": "active_directory"}},
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, slapd: LdapServer) -> Iterator[RunningServer]:
    running = serve(tmp_path_factory, [slapd.tls_url], slapd)
    yield running
    running.stop()


async def test_a_person_of_the_directory_signs_in_with_their_groups_in_the_id_token(
    server: RunningServer, slapd: LdapServer,
) -> None:
    first = await password_sign_in(server, "ada", "ada-password-1", scope=SCOPE)
    again = await password_sign_in(server, "ada@example.com", "ada-password-1", scope=SCOPE)
    admin = slapd.admin()
    entry = admin.search_s(f"uid=ada,{PEOPLE}", 0, attrlist=["entryUUID"])[0][1]
    admin.unbind_s()
    sub = local_user_id("corp", entry["entryUUID"][0].decode())
    assert first["sub"] == again["sub"] == sub and first["amr"] == ["pwd"]
    assert first["groups"] == ["engineers", "staff"]  # in the ID token itself
    assert first["userinfo"] == {
        "sub": sub, "preferred_username": "ada", "name": "Ada Lovelace", "given_name": "Ada",
        "family_name": "Lovelace", "email": "ada@example.com", "email_verified": True,
        "groups": ["engineers", "staff"],
    }
    local = await password_sign_in(server, *ALICE, scope=SCOPE)  # local accounts as before
    assert local["groups"] == [] and local["userinfo"]["preferred_username"] == "alice"


async def test_the_directorys_groups_feed_the_in_group_condition(server: RunningServer) -> None:
    answer = await signed_in_page(server, "star*", "star-password-1")
    target, params = redirect_params(answer)
    assert target == RP_CALLBACK and params["error"] == "access_denied", answer.text
    assert params["error_description"] == "Contractors use the partner portal."


@pytest.mark.parametrize(("login", "password"), [
    ("ada", "wrong-password"), ("ad*", "ada-password-1"), ("*", "ada-password-1"),
    ("ada)(uid=*", "ada-password-1"), ("ada", " "),
])
async def test_wrong_passwords_and_widening_logins_are_refused(
    server: RunningServer, login: str, password: str,
) -> None:
    page = await signed_in_page(server, login, password)
    assert page.status_code == 200 and "Incorrect username or password." in page_text(page)


async def test_a_directory_that_is_down_gives_the_page_again_and_counts(
    tmp_path_factory: pytest.TempPathFactory, slapd: LdapServer,
) -> None:
    down = serve(tmp_path_factory, [f"ldaps://127.0.0.1:{free_port()}"], slapd)
    try:
        page = await signed_in_page(down, "ada", "ada-password-1")
        assert page.status_code == 200 and 'name="password"' in page.text
        assert "We can't check your password right now." in page_text(page)
        assert "user directory corp cannot answer: no server answered" in down.log.read_text()
        async with httpx2.AsyncClient() as http:
            metrics = metric_values((await http.get(f"{down.issuer}/metrics")).text)
        assert metrics[("gatehouse_directory_unavailable_total",
                        frozenset({("directory", "corp")}))] == 1
    finally:
        down.stop()


async def signed_in_page(
    server: RunningServer, login: str, password: str, url: str | None = None
) -> httpx2.Response:
    browser = FormBrowser(server.issuer)
    try:
        if url is None:
            async with rp_client(server) as oauth:
                url, _ = authorization_url(oauth, server)
        return await browser.sign_in(url, login, password)
    finally:
        await browser.close()


@pytest.mark.parametrize(("login", "password", "said", "url"), [
    ("lou", "lou-password-1", "This account is locked.", None),
    ("dee", "dee-password-1", "This account is disabled.", None),
    ("pat", "pat-password-1", "Your password has expired. Ask your administrator to reset it.",
     None),
    ("ben", "ben-password-1", "This account is disabled.", AD_AUTHORIZE),
    ("eve", "eve-password-1", "This account has expired.", AD_AUTHORIZE),
])
async def test_blocked_accounts_are_told_why(
    server: RunningServer, slapd: LdapServer, login: str, password: str, said: str,
    url: str | None,
) -> None:
    time.sleep(max(0.0, slapd.started + 2.5 - time.monotonic()))  # pat's password: 1 s
    page = await signed_in_page(server, login, password, url)
    assert page.status_code == 200 and said in page_text(page)
    wrong = await signed_in_page(server, login, "not-the-password", url)
    if login in ("lou", "dee"):  # slapd says a lock whatever the password: so do we
        assert said in page_text(wrong)
    else:
        assert "Incorrect username or password." in page_text(wrong)


async def test_an_active_directory_person_signs_in(server: RunningServer) -> None:
    page = await signed_in_page(server, "adam", "adam-password-1", AD_AUTHORIZE)
    assert page.status_code in (302, 303)
    assert page.headers["location"].startswith("https://other.example/cb?code=")


async def test_a_password_to_change_is_changed_through_the_pages(server: RunningServer) -> None:
    async def pages(first: httpx2.Response) -> httpx2.Response:
        page = await browser.submit(await browser.submit(first, login="rita"),
                                    password="rita-password-1")
        assert 'name="current_password"' in page.text, page_text(page)
        new = {"password": "rita-new-password-2", "password_confirm": "rita-new-password-2"}
        wrong = await browser.submit(page, current_password="not-it", **new)
        assert "Your current password is not right." in page_text(wrong)
        return await browser.submit(wrong, current_password="rita-password-1", **new)

    browser = FormBrowser(server.issuer)
    try:
        changed = await code_flow(server, browser, pages, scope=SCOPE)
    finally:
        await browser.close()
    assert changed["amr"] == ["pwd"] and changed["groups"] == ["staff"]
    again = await password_sign_in(server, "rita", "rita-new-password-2", scope=SCOPE)
    assert again["sub"] == changed["sub"]
    old = await signed_in_page(server, "rita", "rita-password-1")
    assert "Incorrect username or password." in page_text(old)


async def test_a_person_removed_from_the_directory_can_no_longer_sign_in(
    server: RunningServer, slapd: LdapServer,
) -> None:
    signed_in = await password_sign_in(server, "leaver", "leaver-password-1", scope=SCOPE)
    admin = slapd.admin()
    admin.delete_s(f"uid=leaver,{PEOPLE}")
    admin.unbind_s()
    page = await signed_in_page(server, "leaver", "leaver-password-1")
    assert "Incorrect username or password." in page_text(page)
    kept = json.loads(gatehouse(server.config, "users", "show", "leaver", "--json").stdout)
    assert kept["id"] == signed_in["sub"] and kept["in_directory"]  # the record stays, unused


def people_in(slapd: LdapServer) -> int:
    admin = slapd.admin()
    try:
        return len(admin.search_s(PEOPLE, 2, "(|(uid=*)(mail=*))", ["uid"]))
    finally:
        admin.unbind_s()


def test_users_sync_makes_the_local_records_ahead_of_time(
    server: RunningServer, slapd: LdapServer,
) -> None:
    # adam signed in through the other directory ("ad"): that record holds his username
    adam = gatehouse(server.config, "users", "show", "adam", "--json").returncode == 0
    synced = gatehouse(server.config, "users", "sync", "corp", "--json")
    assert synced.returncode == 0, synced.stderr
    report = json.loads(synced.stdout)
    assert report["listed"] == people_in(slapd) and report["refused"] == int(adam)
    grace = json.loads(gatehouse(server.config, "users", "show", "grace", "--json").stdout)
    assert grace["in_directory"] and grace["groups"] == ["staff"]
    assert grace["email"] == "grace@example.com" and grace["name"] == "Grace Hopper"
    again = json.loads(gatehouse(server.config, "users", "sync", "corp", "--json").stdout)
    assert again == {**report, "created": 0, "refreshed": report["listed"] - int(adam)}
    unknown = gatehouse(server.config, "users", "sync", "nowhere")
    assert unknown.returncode == 1 and "no directory 'nowhere'" in unknown.stderr
