"""Diagrams of a flow: Mermaid and DOT text, escaping, and `gatehouse flows graph`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.diagram import UnknownFlow, render_dot, render_mermaid
from engine.loader import FlowSet, load_flows_text
from server.cli import main

FLOWS = """\
flows:
  default:
    steps:
      identify:
        type: identify
        on:
          success: password
      password:
        type: password
        on:
          success:
            - {to: mfa.step, if: {has_credential: totp}}
            - {to: done}
      mfa.step:
        type: flow
        options: {flow: mfa}
        on:
          done: done
          deny: {to: deny, message: No second factor}
  mfa:
    steps:
      totp-check:
        type: decide
        on:
          next:
            - {to: error, if: {not: known_device}, message: Unknown device}
            - {to: done}
"""

QUOTED = """\
flows:
  default:
    steps:
      password:
        type: password
        on:
          success:
            - {to: deny, if: {user_attribute: {name: nick, equals: 'say "hi" | <b>'}}}
            - {to: done}
"""


@pytest.fixture(scope="module")
def flows() -> FlowSet:
    return load_flows_text(FLOWS)


def mermaid_ids(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """The node ids declared by `text`, and the (source, target) of each edge."""
    declared = set(re.findall(r"^    (\w+)[\[\(\{>]", text, re.MULTILINE))
    edges = re.findall(r"^    (\w+) -->(?:\|\"[^\"]*\"\|)? (\w+)$", text, re.MULTILINE)
    return declared, edges


def test_mermaid_nodes_edges_and_labels(flows: FlowSet) -> None:
    lines = render_mermaid(flows, "default").splitlines()
    assert lines[0] == "flowchart TD"
    assert '    n0["identify<br/>(identify)"]' in lines
    assert '    n1["password<br/>(password)"]' in lines
    assert '    n2[["mfa.step<br/>(sub-flow: mfa)"]]' in lines
    assert '    t_done(["done"])' in lines and '    t_deny{{"deny"}}' in lines
    assert not any(line.startswith("    t_error") for line in lines)  # nothing reaches it
    assert "    start --> n0" in lines
    assert '    n1 -->|"1. success if has_credential: totp"| n2' in lines
    assert '    n1 -->|"2. success otherwise"| t_done' in lines
    assert '    n0 -->|"success"| n1' in lines
    assert '    n2 -->|"deny<br/>message: No second factor"| t_deny' in lines


def test_mermaid_is_well_formed(flows: FlowSet) -> None:
    for name in ("default", "mfa"):
        text = render_mermaid(flows, name)
        assert text.startswith("flowchart TD\n")
        declared, edges = mermaid_ids(text)
        used = {node for edge in edges for node in edge}
        assert used and used <= declared
        assert len(edges) == len(re.findall("-->", text))
        for line in text.splitlines()[1:]:
            assert line.count('"') % 2 == 0, line


def test_mermaid_negated_condition_and_error_message(flows: FlowSet) -> None:
    lines = render_mermaid(flows, "mfa").splitlines()
    assert '    n0{"totp-check<br/>(decide)"}' in lines
    assert '    t_error>"error"]' in lines
    assert '    n0 -->|"1. next if not (known_device)<br/>message: Unknown device"| t_error' in lines
    assert '    n0 -->|"2. next otherwise"| t_done' in lines


def test_dot_nodes_edges_and_labels(flows: FlowSet) -> None:
    text = render_dot(flows, "default")
    lines = text.splitlines()
    assert lines[0] == 'digraph "default" {' and lines[-1] == "}"
    assert '    n0 [label="identify\\n(identify)", shape=box];' in lines
    assert any(line.startswith('    n2 [label="mfa.step\\n(sub-flow: mfa)"') for line in lines)
    done = '    t_done [label="done", shape=box, style="rounded'
    assert any(line.startswith(done) for line in lines)
    assert any(line.startswith('    t_deny [label="deny", shape=hexagon') for line in lines)
    assert "t_error" not in text
    assert "    start -> n0;" in lines
    assert '    n1 -> n2 [label="1. success if has_credential: totp"];' in lines
    assert '    n1 -> t_done [label="2. success otherwise"];' in lines
    assert '    n2 -> t_deny [label="deny\\nmessage: No second factor"];' in lines


def test_quotes_and_specials_in_conditions_are_escaped() -> None:
    quoted = load_flows_text(QUOTED)
    mermaid = render_mermaid(quoted, "default").splitlines()
    assert (
        '    n0 -->|"1. success if user_attribute: {name: nick, equals: '
        'say #quot;hi#quot; #124; #lt;b#gt;}"| t_deny'
    ) in mermaid
    dot = render_dot(quoted, "default").splitlines()
    assert (
        '    n0 -> t_deny [label="1. success if user_attribute: {name: nick, equals: '
        'say \\"hi\\" | <b>}"];'
    ) in dot


AS_WRITTEN = """\
flows:
  default:
    steps:
      password:
        type: password
        on:
          success:
            - {to: deny, if: {user_attribute: {name: email_verified, equals: false}}}
            - {to: error, if: {all: [{client: [a, b]}, {login_hint: false}]}}
            - {to: done, if: {attempts: {step: password, over: 3}}}
            - {to: done}
"""


def test_a_custom_step_is_drawn_with_its_own_type() -> None:
    flows = load_flows_text("""\
flows:
  default:
    steps:
      otp:
        type: tests.engine.fake_steps:FakeOtpStep
        on:
          success: done
""")
    assert '    n0["otp<br/>(fake_otp)"]' in render_mermaid(flows, "default").splitlines()


def test_conditions_are_drawn_as_flows_yaml_writes_them() -> None:
    flows = load_flows_text(AS_WRITTEN)
    mermaid = render_mermaid(flows, "default")
    dot = render_dot(flows, "default")
    for text in (mermaid, dot):
        assert "1. success if user_attribute: {name: email_verified, equals: false}" in text
        assert "2. success if (client: [a, b]) and (login_hint: false)" in text
        assert "3. success if attempts: {step: password, over: 3}" in text
        assert "4. success otherwise" in text  # numbered in the order they are tried
        assert "'" not in text and "False" not in text  # no Python reprs


def test_backslashes_newlines_and_hashes_are_escaped() -> None:
    text = QUOTED.replace(
        "{to: deny, if: {user_attribute: {name: nick, equals: 'say \"hi\" | <b>'}}}",
        "{to: deny, if: {client: 'a\\b'}, message: \"line 1\\nline #2\"}",
    )
    quoted = load_flows_text(text)
    dot = render_dot(quoted, "default").splitlines()
    label = '1. success if client: a\\\\b\\nmessage: line 1\\nline #2'
    assert f'    n0 -> t_deny [label="{label}"];' in dot
    mermaid = render_mermaid(quoted, "default").splitlines()
    label = "1. success if client: a\\b<br/>message: line 1<br/>line #35;2"
    assert f'    n0 -->|"{label}"| t_deny' in mermaid


def test_unknown_flow_lists_the_flows(flows: FlowSet) -> None:
    with pytest.raises(UnknownFlow, match=r"'nope' \(flows: default, mfa\)"):
        render_mermaid(flows, "nope")


@pytest.fixture()
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "flows.yaml"
    path.write_text(FLOWS)
    return path


def test_cli_draws_mermaid_and_dot(flows_file: Path, flows: FlowSet) -> None:
    runner = CliRunner()
    drawn = runner.invoke(main, ["flows", "graph", "default", str(flows_file)])
    assert drawn.exit_code == 0 and drawn.output == render_mermaid(flows, "default")
    dot = runner.invoke(main, ["flows", "graph", "mfa", str(flows_file), "--format", "dot"])
    assert dot.exit_code == 0 and dot.output == render_dot(flows, "mfa")


def test_cli_defaults_to_the_configured_flows_file(tmp_path: Path, flows_file: Path) -> None:
    config = tmp_path / "gatehouse.yaml"
    config.write_text("issuer: http://127.0.0.1:9\nflows_file: flows.yaml\n"
                      f"store: sqlite:///{tmp_path / 'g.db'}\n")
    drawn = CliRunner().invoke(main, ["flows", "graph", "mfa", "--config", str(config)])
    assert drawn.exit_code == 0, drawn.output
    assert drawn.output.startswith("flowchart TD\n") and "totp-check" in drawn.output


def test_cli_unknown_flow_exits_2(flows_file: Path) -> None:
    result = CliRunner().invoke(main, ["flows", "graph", "nope", str(flows_file)])
    assert result.exit_code == 2
    assert "unknown flow 'nope' (flows: default, mfa)" in result.output


def test_cli_invalid_file_prints_problems_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text("flows:\n  default:\n    steps:\n      a:\n        type: nope\n")
    result = CliRunner().invoke(main, ["flows", "graph", "default", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:9: unknown step type 'nope'" in result.output
