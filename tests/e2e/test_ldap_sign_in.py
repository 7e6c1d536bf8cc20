"""Signing in with the company directory end to end: a real server whose `password` step asks a
real slapd over ldaps:// (the tests' own CA) about people it does not know. A person of the
directory signs in through the pages, always as the same `sub` (from entryUUID), with their
directory name and groups in the ID token; a wrong password or a login that tries to widen the
search is refused like any other, and a directory that is down gives the page again and counts
in the metrics."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from steps.user_directory import local_user_id
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, RunningServer, client_settings, start_server
from tests.e2e.test_sign_in import authorization_url, rp_client
from tests.e2e.tokens import password_sign_in
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
        options: {directory: corp}
        on: {success: done}
"""
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
    [demo] = client_settings(f"http://127.0.0.1:{port}")[:1]
    return start_server(workdir, flows, port=port, clients=[{**demo, "scope": SCOPE}],
                        directories={"corp": directory(servers, slapd)})


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


async def signed_in_page(server: RunningServer, login: str, password: str) -> httpx2.Response:
    browser = FormBrowser(server.issuer)
    try:
        async with rp_client(server) as oauth:
            url, _ = authorization_url(oauth, server)
            return await browser.sign_in(url, login, password)
    finally:
        await browser.close()
