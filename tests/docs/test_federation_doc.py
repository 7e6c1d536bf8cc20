"""docs/federation.md stays true: the upstream providers' config and flows examples load together
(and the check of offered providers holds), the directory class example is short and works in the
flows example beside it, and its `flows check` output is what the loader says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher

from core import OutboundHttp
from engine.loader import FlowsError, load_flows_text
from engine.testing import FlowTester
from engine.upstream_check import check_offered
from federation.oauth2_upstream import OAuth2Upstream
from federation.providers import upstreams_for
from server.settings import Settings
from steps.user_directory import local_user_id
from tests.docs.test_flows_doc import ROOT, blocks, code_and_flows, importable, install, section
from tests.e2e.server import gatehouse

__all__ = ["importable"]  # the fixture, for pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "federation.md"


def examples() -> tuple[dict[str, object], str]:
    """The server config and flows examples of the upstream providers section."""
    yamls = blocks(section(DOC.read_text(), "Upstream OpenID providers"), "yaml")
    config = next(b for b in yamls if "upstream_providers:" in b)
    flows = next(b for b in yamls if "type: federated" in b)
    return yaml.safe_load(config), flows


def test_the_config_and_flows_examples_load_together() -> None:
    config, flows_text = examples()
    settings = Settings.model_validate({"issuer": "https://login.example.com", **config})
    assert [p.id for p in settings.upstream_providers] == ["corp"]
    upstreams = upstreams_for(settings.issuer, settings.upstream_providers, OutboundHttp())
    assert upstreams["corp"].redirect_uri == "https://login.example.com/federation/corp/callback"
    flows = load_flows_text(flows_text)
    check_offered(flows, upstreams)
    with pytest.raises(ValueError, match="no upstream provider corp"):
        check_offered(flows, {"other": upstreams["corp"]})


def test_the_github_example_is_a_plain_oauth2_provider() -> None:
    yamls = blocks(section(DOC.read_text(), "Upstream OpenID providers"), "yaml")
    config = yaml.safe_load(next(b for b in yamls if "id: github" in b))
    settings = Settings.model_validate({"issuer": "https://login.example.com", **config})
    upstream = upstreams_for(settings.issuer, settings.upstream_providers, OutboundHttp())["github"]
    assert isinstance(upstream, OAuth2Upstream) and not upstream.proves_freshness
    assert upstream.redirect_uri == "https://login.example.com/federation/github/callback"
    assert upstream.settings.subject_claim == "id"
    assert upstream.settings.emails_endpoint == "https://api.github.com/user/emails"


def test_the_entra_example_is_multi_tenant_with_its_tenants_named() -> None:
    yamls = blocks(section(DOC.read_text(), "Upstream OpenID providers"), "yaml")
    config = yaml.safe_load(next(b for b in yamls if "multi_tenant: true" in b))
    settings = Settings.model_validate({"issuer": "https://login.example.com", **config})
    [entra] = settings.upstream_providers
    assert entra.multi_tenant and entra.issuer == "https://login.microsoftonline.com/organizations/v2.0"
    assert entra.admits({"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"})
    assert not entra.admits({"tid": "9188040d-6c67-4c5b-b112-36a304b66dad"})


@pytest.fixture
def text() -> str:
    return section(DOC.read_text(encoding="utf-8"), "An external user directory")


async def test_the_directory_example_is_short_and_works(text: str, importable: Path) -> None:
    code, flows = code_and_flows(text)
    assert len(code.splitlines()) < 60
    install(importable, code, flows)
    staff = importable / "staff.json"
    staff.write_text(json.dumps([{"id": "7", "username": "dora", "email": "dora@corp.example",
                                  "password_hash": PasswordHasher().hash("pw-1")}]))
    flows = re.sub(r"path: \S+\}", f"path: {staff}}}", flows)
    async with FlowTester(load_flows_text(flows)) as tester:
        await tester.start()
        await tester.submit(login="dora")
        page = await tester.submit(password="wrong")
        assert page is not None and page.errors == {"password": "Incorrect username or password."}
        await tester.start()
        await tester.submit(login="dora@corp.example")
        await tester.submit(password="pw-1")
        assert tester.result == "done"
        assert tester.subject == local_user_id("mydirectory.staff:StaffFile", "7")


def test_the_flows_check_example_is_what_the_loader_says(text: str, importable: Path) -> None:
    code, flows = code_and_flows(text)
    install(importable, code, flows)
    printed = blocks(text, "console")[0]
    with pytest.raises(FlowsError) as caught:
        load_flows_text(flows.replace("{path:", "{pth:"), "flows.yaml")
    assert printed == f"$ gatehouse flows check flows.yaml\n{caught.value}\n"


def test_the_import_examples_pass_a_dry_run(tmp_path: Path) -> None:
    text = section(DOC.read_text(encoding="utf-8"), "Users from other systems")
    config = tmp_path / "gatehouse.yaml"
    config.write_text(f"issuer: http://127.0.0.1:9\nstore: sqlite:///{tmp_path / 'g.db'}\nflows_file: {ROOT / 'flows.yaml'}\n")
    for name, body in (("users.jsonl", blocks(text, "json")[0]), ("people.csv", blocks(text, "csv")[0])):
        (tmp_path / name).write_text(body)
        checked = gatehouse(config, "users", "import", str(tmp_path / name), "--dry-run")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "refused 0" in checked.stdout
