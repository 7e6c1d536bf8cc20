"""The step registry: built-in names, third-party steps by dotted path, helpful errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from engine.loader import FlowsError, load_flows_text
from steps.base import Step
from steps.identify import IdentifyStep
from steps.password import PasswordStep
from steps.registry import BUILTIN_STEPS, UnknownStepType, resolve_step_type
from tests.steps.custom_step import AskOptions, AskStep

TEMPLATES = Path(__file__).resolve().parents[2] / "ui" / "templates"
CUSTOM = "tests.steps.custom_step:AskStep"


def unknown_message(name: str) -> str:
    with pytest.raises(UnknownStepType) as caught:
        resolve_step_type(name)
    return str(caught.value)


def test_builtins_resolve() -> None:
    assert resolve_step_type("identify") is IdentifyStep
    assert resolve_step_type("password") is PasswordStep
    assert BUILTIN_STEPS["identify"] is IdentifyStep and BUILTIN_STEPS["password"] is PasswordStep
    assert all(name == cls.type for name, cls in BUILTIN_STEPS.items())


def test_a_custom_step_loads_by_dotted_path() -> None:
    assert resolve_step_type(CUSTOM) is AskStep


def test_a_custom_step_works_in_a_flow() -> None:
    text = f"""\
flows:
  default:
    steps:
      ask:
        type: {CUSTOM}
        options: {{question: "Continue?"}}
        on:
          yes: done
          no: deny
"""
    flow = load_flows_text(text, "flows.yaml").get(None)
    step = flow.steps["ask"]
    assert isinstance(step, AskStep)
    assert step.options == AskOptions(question="Continue?")
    assert flow.advance("ask", "yes") == "done"
    assert flow.advance("ask", "no") == "deny"


def test_a_custom_step_options_are_checked() -> None:
    text = f"flows:\n  default:\n    steps:\n      ask:\n        type: {CUSTOM}\n" \
           "        on: {yes: done, no: deny}\n"
    with pytest.raises(FlowsError) as caught:
        load_flows_text(text, "flows.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "flows.yaml:4:7: flows.default.steps.ask.options.question: Field required"
    ]


def test_unknown_name_without_colon() -> None:
    assert unknown_message("passwrd") == (
        f"unknown step type 'passwrd' (built-in: {', '.join(sorted(BUILTIN_STEPS))};"
        " a custom step is named as package.module:ClassName)"
    )


def test_dotted_path_to_something_that_is_not_a_step() -> None:
    for name in ("tests.steps.custom_step:NotAStep", "tests.steps.custom_step:not_a_class",
                 "steps.identify:MAX_LOGIN_LENGTH", "steps.base:Page"):
        assert unknown_message(name) == f"{name!r} is not a subclass of steps.base.Step"


def test_dotted_path_to_a_missing_module_or_attribute() -> None:
    assert unknown_message("no_such_package.steps:Ask") == (
        "cannot load step type 'no_such_package.steps:Ask': No module named 'no_such_package'"
    )
    assert unknown_message("tests.steps.custom_step:Missing") == (
        "cannot load step type 'tests.steps.custom_step:Missing':"
        " module 'tests.steps.custom_step' has no attribute 'Missing'"
    )


@pytest.mark.parametrize("name", [":password", ".custom_step:AskStep"])
def test_malformed_dotted_path_is_an_unknown_step_type(name: str) -> None:
    assert unknown_message(name).startswith(f"cannot load step type {name!r}: ")


def test_malformed_type_in_flows_yaml_is_a_flows_error() -> None:
    text = "flows:\n  default:\n    steps:\n      s:\n        type: ':password'\n" \
           "        on: {success: done}\n"
    with pytest.raises(FlowsError) as caught:
        load_flows_text(text, "flows.yaml")
    assert [str(p).split(": Empty")[0] for p in caught.value.problems] == [
        "flows.yaml:5:9: cannot load step type ':password'"
    ]


@pytest.mark.parametrize("name", sorted(BUILTIN_STEPS))
def test_builtin_step_contract(name: str) -> None:
    cls = BUILTIN_STEPS[name]
    assert issubclass(cls, Step)
    assert cls.type == name
    assert isinstance(cls.Options, type) and issubclass(cls.Options, BaseModel)
    assert isinstance(cls.outcomes, frozenset)
    assert len(cls.outcomes) > 0 or cls.outcomes_for is not Step.outcomes_for  # fixed or from options
    assert all(isinstance(o, str) and o for o in cls.outcomes)
    assert all(isinstance(label, str) and label for label in cls.optional_outcomes.values())
    if cls.shows_page:
        assert isinstance(cls.template, str) and cls.template.endswith(".html")
        assert (TEMPLATES / cls.template).is_file(), f"{cls.template} is not under {TEMPLATES}"
    assert cls.render is not Step.render and cls.handle is not Step.handle


def test_the_abstract_base_class_is_not_a_step_type() -> None:
    with pytest.raises(UnknownStepType, match="not a complete step"):
        resolve_step_type("steps.base:Step")
