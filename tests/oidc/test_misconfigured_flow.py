"""A flow that reaches `done` without any step proving who the user is gets a designed error page,
never a code."""

from __future__ import annotations

from pathlib import Path

from server.app import create_app
from server.settings import ClientSettings, Settings

FLOWS = """
flows:
  default:
    steps:
      identify:
        type: identify
        on: {success: done}
"""


async def test_done_without_authentication_is_an_error_page_not_a_code(tmp_path: Path) -> None:
    (tmp_path / "flows.yaml").write_text(FLOWS)
    settings = Settings(
        issuer="http://127.0.0.1:1", store="sqlite://:memory:", flows_file="flows.yaml",
        base_dir=tmp_path, clients=[ClientSettings(
            client_id="app", token_endpoint_auth_method="none", redirect_uris=["https://a.example/cb"])],
    )
    app = create_app(settings)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/authorize", query_string={
            "client_id": "app", "redirect_uri": "https://a.example/cb", "response_type": "code",
            "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256"})
        flow = response.headers["location"]
        page = await client.get(flow)
        csrf = (await page.get_data(as_text=True)).split('name="csrf_token" value="')[1].split('"')[0]
        finished = await client.post(flow, form={"csrf_token": csrf, "login": "anyone"})
    assert finished.status_code == 500  # the POST that finished the run answers
    assert "location" not in finished.headers
    assert "Something went wrong" in await finished.get_data(as_text=True)
