"""Settings (file, environment, errors with positions) and the `gatehouse` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import SettingsError, load_settings, settings_doc
from tests.e2e.server import gatehouse

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_config_loads() -> None:
    settings = load_settings(ROOT / "gatehouse.yaml")
    assert settings.issuer == "http://localhost:8000" and settings.demo
    assert [c.client_id for c in settings.clients] == ["demo-rp", "demo-spa"]


def test_errors_point_at_the_line(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nclients:\n  - client_id: a\n    redirect_uris: [/cb]\n    colour: blue\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert f"{config}:4:5: clients.0.redirect_uris:" in message
    assert f"{config}:5:5: clients.0.colour: Extra inputs are not permitted" in message


def test_only_a_client_without_authorization_code_may_have_no_redirect_uri(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nclients:\n  - client_id: a\n"
                      "    token_endpoint_auth_method: none\n")
    with pytest.raises(SettingsError, match=f"{config}:3:5: .*authorization_code needs"):
        load_settings(config)
    config.write_text("issuer: http://127.0.0.1:9\nclients:\n  - client_id: tv\n"
                      "    token_endpoint_auth_method: none\n"
                      "    grant_types: ['urn:ietf:params:oauth:grant-type:device_code']\n")
    assert load_settings(config).clients[0].redirect_uris == []


def test_a_config_without_an_issuer_is_refused_at_its_first_line(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("# no issuer\nstore: sqlite://\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == f"{config}:2:1: issuer: Field required"


def test_without_a_file_the_issuer_must_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GATEHOUSE_CONFIG", raising=False)
    monkeypatch.delenv("GATEHOUSE_ISSUER", raising=False)
    with pytest.raises(SettingsError, match=r"gatehouse.yaml: no such file; .*\nissuer: Field required"):
        load_settings()
    monkeypatch.setenv("GATEHOUSE_ISSUER", "https://login.example.com")
    assert load_settings().issuer == "https://login.example.com"


def test_a_duplicate_client_id_is_refused_where_it_is_repeated(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text(
        "issuer: http://127.0.0.1:9\nclients:\n"
        "  - {client_id: app, token_endpoint_auth_method: none, redirect_uris: [https://a/cb]}\n"
        "  - {client_id: other, token_endpoint_auth_method: none, redirect_uris: [https://o/cb]}\n"
        "  - client_id: app\n    token_endpoint_auth_method: none\n    redirect_uris: [https://b/cb]\n"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == f"{config}:5:5: clients.2.client_id: 'app' is the client_id of entry 0 too"


def test_a_duplicate_upstream_provider_id_is_refused_where_it_is_repeated(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    provider = "{id: corp, name: Corp, issuer: https://corp.example, client_id: g, client_secret: s}"
    config.write_text(f"issuer: http://127.0.0.1:9\nupstream_providers:\n  - {provider}\n  - {provider}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == f"{config}:4:6: upstream_providers.1.id: 'corp' is the id of entry 0 too"


def test_short_client_secrets_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nclients:\n  - client_id: a\n    client_secret: short\n    redirect_uris: [https://a/cb]\n")
    with pytest.raises(SettingsError, match="client_secret"):
        load_settings(config)


@pytest.mark.parametrize("field", [
    "redirect_uris: [https://a/cb#frag]", "redirect_uris: [/relative/cb]",
    "redirect_uris: ['javascript:alert(1)//']", "policy_uri: 'javascript:alert(1)'",
])
def test_unsafe_client_uris_are_refused(tmp_path: Path, field: str) -> None:
    config = tmp_path / "gatehouse.yaml"
    lines = ["issuer: http://127.0.0.1:9", "clients:", "  - client_id: a",
             "    token_endpoint_auth_method: none"]
    if not field.startswith("redirect_uris"):
        lines.append("    redirect_uris: [https://a/cb]")
    config.write_text("\n".join([*lines, f"    {field}"]) + "\n")
    with pytest.raises(SettingsError):
        load_settings(config)


@pytest.mark.parametrize(("field", "problem"), [
    ("request_object_signing_alg: RS256", "request_object_signing_alg needs jwks or jwks_uri"),
    ("request_object_signing_alg: none", "request_object_signing_alg"),
])
def test_a_request_object_algorithm_needs_keys_and_is_never_none(
    tmp_path: Path, field: str, problem: str
) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nclients:\n  - client_id: a\n"
                      "    token_endpoint_auth_method: none\n    redirect_uris: [https://a/cb]\n"
                      f"    {field}\n")
    with pytest.raises(SettingsError, match=problem):
        load_settings(config)


def test_native_app_redirect_uris_are_allowed(tmp_path: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nclients:\n  - client_id: a\n"
                      "    token_endpoint_auth_method: none\n    redirect_uris: ['com.example.app:/callback', 'http://127.0.0.1:7777/cb']\n")
    assert load_settings(config).clients[0].redirect_uris[0] == "com.example.app:/callback"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: https://login.example.com/\n")
    monkeypatch.setenv("GATEHOUSE_STORE", "sqlite:///elsewhere.db")
    settings = load_settings(config)
    assert settings.issuer == "https://login.example.com" and settings.store == "sqlite:///elsewhere.db"
    monkeypatch.setenv("GATEHOUSE_ISSUER", "https://id.example.com/?q=1")
    with pytest.raises(SettingsError, match="issuer"):
        load_settings(config)


def test_config_doc_lists_every_setting() -> None:
    doc = settings_doc()
    for name in ("issuer", "store", "code_lifetime", "clients"):
        assert f"| `{name}` |" in doc


def _config(tmp_path: Path, flows: str | None = None) -> Path:
    config = tmp_path / "gatehouse.yaml"
    lines = ["issuer: http://127.0.0.1:9", f"store: sqlite:///{tmp_path / 'g.db'}",
             "clients:", "  - {client_id: app, token_endpoint_auth_method: none, redirect_uris: [https://a/cb]}"]
    if flows is not None:
        (tmp_path / "flows.yaml").write_text(flows)
        lines.insert(0, "flows_file: flows.yaml")
    else:
        lines.insert(0, f"flows_file: {ROOT / 'flows.yaml'}")
    config.write_text("\n".join(lines) + "\n")
    return config


def test_users_add_then_duplicate_then_if_missing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = gatehouse(config, "users", "add", "bob", "--email", "bob@example.com", "--password-stdin",
                      stdin="bob-password-1\n")
    assert first.returncode == 0 and "added user bob" in first.stdout
    again = gatehouse(config, "users", "add", "BOB", "--password-stdin", stdin="bob-password-2\n")
    assert again.returncode == 1 and "taken" in again.stderr
    skipped = gatehouse(config, "users", "add", "bob", "--password-stdin", "--if-missing",
                        stdin="bob-password-3\n")
    assert skipped.returncode == 0 and "exists" in skipped.stdout


def test_users_add_refuses_short_passwords_and_at_signs(tmp_path: Path) -> None:
    config = _config(tmp_path)
    short = gatehouse(config, "users", "add", "carol", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "That password is too short." in short.stderr
    email_like = gatehouse(config, "users", "add", "c@x", "--password-stdin", stdin="long-enough-1\n")
    assert email_like.returncode == 2 and "cannot contain @" in email_like.stderr


def test_clients_list_has_a_header_then_a_line_per_client(tmp_path: Path) -> None:
    listed = gatehouse(_config(tmp_path), "clients", "list")
    header, row = listed.stdout.splitlines()
    assert header.split() == ["CLIENT", "ID", "SOURCE", "AUTH", "METHOD", "FLOW", "REDIRECT", "URIS"]
    assert row.split() == ["app", "gatehouse.yaml", "none", "(default)", "https://a/cb"]
    assert header.index("AUTH METHOD") == row.index("none")  # aligned columns


def test_flows_check_and_serve_refuse_an_invalid_file(tmp_path: Path) -> None:
    config = _config(tmp_path, flows="flows:\n  default:\n    steps:\n      a:\n        type: nope\n")
    checked = gatehouse(config, "flows", "check")
    assert checked.returncode == 1
    assert f"{tmp_path / 'flows.yaml'}:5:9: unknown step type 'nope'" in checked.stderr
    served = gatehouse(config, "serve", "--port", "1")
    assert served.returncode == 1 and "unknown step type 'nope'" in served.stderr


def test_flows_check_and_serve_refuse_a_federated_step_without_its_provider(tmp_path: Path) -> None:
    flows = ("flows:\n  default:\n    steps:\n      up:\n        type: federated\n"
             "        options: {providers: [corp]}\n        on: {success: done, link: done}\n")
    config = _config(tmp_path, flows=flows)
    checked = gatehouse(config, "flows", "check")
    assert checked.returncode == 1
    assert "flow default, step up: a federated step needs upstream_providers" in checked.stderr
    with config.open("a") as more:
        more.write("upstream_providers:\n  - {id: other, name: Other, issuer: https://o.example,"
                   " client_id: gh, client_secret: s}\n")
    checked = gatehouse(config, "flows", "check")
    assert checked.returncode == 1
    assert "no upstream provider corp (upstream_providers: other)" in checked.stderr
    served = gatehouse(config, "serve", "--port", "1")
    assert served.returncode == 1 and "no upstream provider corp" in served.stderr


def test_docs_configuration_is_current() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text()
    assert settings_doc() in documented, "run: gatehouse config --doc, and update docs/configuration.md"
