"""Loading flows.yaml: every problem at once, each as file:line:column, and compiled machines."""

from __future__ import annotations

from pathlib import Path

import pytest
from transitions.core import MachineError

from engine.compiled import CompiledFlow
from engine.loader import FlowsError, FlowSet, load_flows, load_flows_text
from engine.yaml_source import parse_yaml
from steps.registry import BUILTIN_STEPS

SHIPPED_FLOWS = Path(__file__).resolve().parents[2] / "flows.yaml"

TWO_STEPS = """\
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
          success: done
"""


def problems(text: str) -> list[str]:
    with pytest.raises(FlowsError) as caught:
        load_flows_text(text, "flows.yaml")
    return [str(problem) for problem in caught.value.problems]


def one_step(body: str) -> str:
    """A default flow whose only step is `s`, with `body` indented under it."""
    indented = "".join(f"        {line}\n" for line in body.splitlines())
    return f"flows:\n  default:\n    steps:\n      s:\n{indented}"


def test_yaml_syntax_error() -> None:
    assert problems("flows:\n  default:\n    steps: [a\n") == [
        "flows.yaml:4:1: YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_duplicate_key_is_reported_at_the_second_key() -> None:
    text = "default_flow: default\ndefault_flow: other\n" + TWO_STEPS
    assert problems(text) == ["flows.yaml:2:1: duplicate key 'default_flow'"]


def test_duplicate_mapping_key_does_not_flag_its_children() -> None:
    text = TWO_STEPS + "      identify:\n        type: identify\n        on: {success: done}\n"
    assert problems(text) == ["flows.yaml:12:7: duplicate key 'identify'"]


def test_unknown_step_type() -> None:
    assert problems(one_step("type: nope\non: {success: done}")) == [
        f"flows.yaml:5:9: unknown step type 'nope' (built-in: {', '.join(sorted(BUILTIN_STEPS))};"
        " a custom step is named as package.module:ClassName)"
    ]


def test_extra_option_on_a_step_without_options() -> None:
    text = one_step("type: identify\noptions:\n  colour: red\non: {success: done}")
    assert problems(text) == [
        "flows.yaml:7:11: flows.default.steps.s.options.colour: Extra inputs are not permitted"
    ]


def test_outcome_the_step_never_emits() -> None:
    text = one_step("type: identify\non:\n  success: done\n  failed: deny")
    assert problems(text) == [
        "flows.yaml:8:11: step 's' (identify) never emits 'failed'; it emits: another_way, register, success"
    ]


def test_outcome_not_wired() -> None:
    assert problems(one_step("type: password\non: {}")) == [
        "flows.yaml:4:7: step 's' can never lead to `done`, `deny` or `error`",
        "flows.yaml:6:9: step 's' does not say where 'success' leads",
    ]


def test_unknown_target() -> None:
    assert problems(one_step("type: identify\non:\n  success: nowhere")) == [
        "flows.yaml:4:7: step 's' can never lead to `done`, `deny` or `error`",
        "flows.yaml:7:11: 'success' leads to 'nowhere', which is neither a step nor a"
        " terminal (deny, done, error)",
    ]


def test_unreachable_step() -> None:
    text = TWO_STEPS.replace("success: password", "success: done")
    assert problems(text) == ["flows.yaml:8:7: step 'password' cannot be reached from the start"]


def test_steps_in_a_loop_never_finish() -> None:
    text = TWO_STEPS.replace("success: done", "success: identify")
    assert problems(text) == [
        "flows.yaml:4:7: step 'identify' can never lead to `done`, `deny` or `error`",
        "flows.yaml:8:7: step 'password' can never lead to `done`, `deny` or `error`",
    ]


def test_default_flow_must_be_a_flow() -> None:
    assert problems("default_flow: main\n" + TWO_STEPS) == [
        "flows.yaml:1:1: default_flow 'main' is not a flow"
    ]


def test_a_step_cannot_be_named_done() -> None:
    text = "flows:\n  default:\n    steps:\n      done:\n        type: identify\n" \
           "        on: {success: deny}\n"
    assert problems(text) == ["flows.yaml:4:7: 'done' is a terminal and cannot name a step"]


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = """\
default_flow: main
flows:
  default:
    steps:
      identify:
        type: identify
        options: {colour: red}
        on:
          success: password
      password:
        type: passwrd
        on:
          success: done
      extra:
        type: identify
        on:
          success: nowhere
"""
    assert problems(text) == [
        "flows.yaml:1:1: default_flow 'main' is not a flow",
        "flows.yaml:7:19: flows.default.steps.identify.options.colour:"
        " Extra inputs are not permitted",
        f"flows.yaml:11:9: unknown step type 'passwrd' (built-in: {', '.join(sorted(BUILTIN_STEPS))};"
        " a custom step is named as package.module:ClassName)",
        "flows.yaml:14:7: step 'extra' cannot be reached from the start",
        "flows.yaml:17:11: 'success' leads to 'nowhere', which is neither a step nor a"
        " terminal (deny, done, error)",
    ]


def test_on_is_the_string_key_on_not_yaml_1_1_true() -> None:
    flows = load_flows_text(TWO_STEPS, "flows.yaml")
    spec = flows.get(None).spec
    assert spec.steps["identify"].on == {"success": "password"}
    assert spec.steps["password"].on == {"success": "done"}
    assert parse_yaml("on: yes\noff: no\nx: true\n", "f.yaml").data == {
        "on": "yes", "off": "no", "x": True
    }


def test_the_shipped_flows_file_loads() -> None:
    flows = load_flows(SHIPPED_FLOWS)
    assert isinstance(flows, FlowSet)
    assert flows.default == "default"
    assert sorted(flows.flows) == [
        "add-passkey", "change-password", "default", "enroll-mfa", "mfa", "new-recovery-codes",
        "one-page", "partner", "passwordless", "recovery", "register", "reset-by-link",
        "second-factor", "set-up-totp", "sign-in", "step-up",
    ]
    assert flows.spec.acr_flows == {"urn:gatehouse:loa:2": "step-up"}
    assert flows.spec.registration_flow == "register"
    assert flows.get(None).start == "identify"
    assert flows.get("one-page").start == "password"


# compiled flows


@pytest.fixture
def flow() -> CompiledFlow:
    return load_flows_text(TWO_STEPS, "flows.yaml").get("default")


def test_advance_follows_the_wiring(flow: CompiledFlow) -> None:
    assert flow.advance("identify", "success") == "password"
    assert flow.advance("password", "success") == "done"


def test_advance_from_a_state_without_that_outcome_raises(flow: CompiledFlow) -> None:
    with pytest.raises(MachineError):
        flow.advance("done", "success")


def test_advance_with_an_outcome_unknown_to_the_flow_raises_machine_error(
    flow: CompiledFlow,
) -> None:
    with pytest.raises(MachineError):
        flow.advance("identify", "failed")


def test_the_shared_machine_keeps_no_models(flow: CompiledFlow) -> None:
    for _ in range(50):
        assert flow.advance("identify", "success") == "password"
        with pytest.raises(MachineError):
            flow.advance("deny", "success")
        with pytest.raises((MachineError, AttributeError)):
            flow.advance("identify", "failed")
    assert len(flow.machine.models) == 0


def test_flows_version_changes_with_the_spec() -> None:
    first = load_flows_text(TWO_STEPS, "flows.yaml")
    same = load_flows_text(TWO_STEPS, "flows.yaml")
    changed = load_flows_text(TWO_STEPS.replace("  default:\n", "  default:\n    description: x\n"))
    assert first.version == same.version
    assert first.version != changed.version


# The flow language's own checks: conditions, branches, sub-flows, selection.


def test_check_unknown_condition() -> None:
    text = one_step("""\
type: password
on:
  success:
    - {to: done, if: {has_credentail: totp}}
    - {to: deny}
""")
    assert problems(text) == [
        "flows.yaml:8:31: unknown condition 'has_credentail' (known: acr_below, acr_requested, attempts, client, client_tag, has_credential, in_group, known_device, login_hint, mfa_older_than, password_older_than, prompt, proved, signed_in, upstream, user_attribute, all, any, not; a custom condition is named as package.module:ClassName)",
    ]


def test_check_bad_argument() -> None:
    text = one_step("""\
type: password
on:
  success:
    - to: done
      if:
        all:
          - signed_in
          - {has_credential: fingerprint}
    - to: deny
""")
    assert problems(text) == [
        "flows.yaml:12:22: condition 'has_credential': Input should be 'password', 'totp', 'webauthn' or 'recovery_codes'; Input should be a valid list",
    ]


def test_check_last_branch_if() -> None:
    text = one_step("""\
type: password
on:
  success:
    - {to: done, if: signed_in}
""")
    assert problems(text) == [
        "flows.yaml:7:11: the last branch of 'success' needs no `if`: it says where to go otherwise",
    ]


def test_check_after_unconditional() -> None:
    text = one_step("""\
type: password
on:
  success:
    - to: done
    - {to: deny, if: signed_in}
    - to: deny
""")
    assert problems(text) == [
        "flows.yaml:8:15: branches of 'success' after this one (no `if`) are never taken",
    ]


def test_check_message_on_done() -> None:
    text = one_step("""\
type: password
on:
  success: {to: done, message: hi}
""")
    assert problems(text) == [
        'flows.yaml:7:31: only a branch to `deny` or `error` has a message',
    ]


def test_check_subflow_unknown() -> None:
    text = one_step("""\
type: flow
options: {flow: mfa}
on: {done: done, deny: deny}
""")
    assert problems(text) == [
        "flows.yaml:6:19: sub-flow 'mfa' is not a flow",
    ]


def test_check_subflow_cycle() -> None:
    text = """\
flows:
  a:
    steps:
      s:
        type: flow
        options: {flow: b}
        on: {done: done, deny: deny}
  b:
    steps:
      t:
        type: flow
        options: {flow: a}
        on: {done: done, deny: deny}
default_flow: a
"""
    assert problems(text) == [
        "flows.yaml:6:19: sub-flow cycle: 'a' calls 'b', which leads back to 'a'",
        "flows.yaml:12:19: sub-flow cycle: 'b' calls 'a', which leads back to 'b'",
    ]


def test_check_selection() -> None:
    text = """\
default_flow: main
registration_flow: signup
acr_flows:
  urn:gatehouse:loa:9: main
  urn:gatehouse:loa:2: strong
flows:
  main:
    steps:
      s: {type: password, on: {success: done}}
"""
    assert problems(text) == [
        "flows.yaml:2:1: registration_flow 'signup' is not a flow",
        "flows.yaml:4:3: unknown acr 'urn:gatehouse:loa:9' (known: urn:gatehouse:loa:1, urn:gatehouse:loa:2)",
        "flows.yaml:5:3: acr_flows names 'strong', not a flow",
    ]


def test_check_not_composite() -> None:
    text = one_step("""\
type: password
on:
  success:
    - {to: done, if: {not: [signed_in]}}
    - to: deny
""")
    assert problems(text) == [
        'flows.yaml:8:31: `not` takes one condition',
    ]


def test_check_two_keys() -> None:
    text = one_step("""\
type: password
on:
  success:
    - {to: done, if: {signed_in: true, login_hint: true}}
    - to: deny
""")
    assert problems(text) == [
        'flows.yaml:8:26: a condition is a name, or a mapping with exactly one key',
    ]


def test_check_bad_argument_names_each_field() -> None:
    text = one_step("""\
type: password
on:
  success:
    - to: done
      if: {attempts: {step: password, over: -1, unknown: 2}}
    - to: deny
""")
    [problem] = problems(text)
    assert problem.startswith("flows.yaml:9:")  # at the first field in error, `over`
    assert "condition 'attempts': over: Input should be greater than" in problem
    assert "; unknown: Extra inputs are not permitted" in problem
