"""An external user directory end to end: a real server whose `password` step asks a legacy user
service on loopback (federation/http_directory.py) about logins it does not know. A directory user
signs in with a code flow, always as the same `sub`, with the directory's claims; the service
being down gives the password page again with a clear message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from steps.user_directory import local_user_id
from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ALICE, RunningServer, client_settings, start_server
from tests.e2e.test_sign_in import authorization_url, rp_client
from tests.e2e.tokens import password_sign_in
from tests.ports import free_port
from tests.user_service import LegacyUser, UserService, user_service

TOKEN = "legacy-service-token-0123456789"
DIRECTORY = "federation.http_directory:HttpDirectory"
DORA = LegacyUser("u-1001", "dora", "dora-password-1", email="dora@corp.example",
                  email_verified=True, claims={"name": "Dora Legacy", "locale": "en-GB"})
FLOWS = """\
flows:
  default:
    steps:
      identify: {{type: identify, on: {{success: password}}}}
      password:
        type: password
        options:
          directory: {directory}
          directory_options: {{base_url: "{base_url}", bearer_token: {token}, timeout: 2}}
        on: {{success: done}}
"""


@pytest.fixture(scope="module")
def service() -> Iterator[UserService]:
    with user_service([DORA], token=TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, service: UserService) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("directory")
    flows = workdir / "flows.yaml"
    flows.write_text(FLOWS.format(directory=DIRECTORY, base_url=service.url, token=TOKEN))
    port = free_port()
    running = start_server(workdir, flows, port=port,
                           clients=client_settings(f"http://127.0.0.1:{port}")[:1])  # demo-rp
    yield running
    running.stop()


async def test_a_directory_user_signs_in_as_the_same_sub_with_the_directory_claims(
    server: RunningServer,
) -> None:
    first = await password_sign_in(server, "dora", DORA.password)
    again = await password_sign_in(server, "dora@corp.example", DORA.password)
    sub = local_user_id(DIRECTORY, "u-1001")
    assert first["sub"] == again["sub"] == sub and first["amr"] == ["pwd"]
    assert first["userinfo"] == {
        "sub": sub, "preferred_username": "dora", "name": "Dora Legacy", "locale": "en-GB",
        "email": "dora@corp.example", "email_verified": True,
    }
    local = await password_sign_in(server, *ALICE)  # local accounts sign in as before
    assert local["userinfo"]["preferred_username"] == "alice"


async def test_the_service_being_down_gives_the_page_again_with_a_clear_message(
    server: RunningServer, service: UserService,
) -> None:
    browser = FormBrowser(server.issuer)
    service.status = 503
    try:
        async with rp_client(server) as oauth:
            url, _ = authorization_url(oauth, server)
            page = await browser.sign_in(url, "dora", DORA.password)
    finally:
        service.status = None
        await browser.close()
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "We can't check your password right now. Try again in a moment." in page_text(page)
    assert f"user directory {DIRECTORY} cannot answer: answered 503" in server.log.read_text()
