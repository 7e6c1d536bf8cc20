"""Static checks of a parsed flows file, reported all at once with their positions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from engine.assurance import ACR_VALUES_SUPPORTED
from engine.compiled import BranchKey
from engine.conditions import ConditionError, Test, compile_condition
from engine.model import TERMINALS, FlowsFile, FlowSpec, StepSpec
from engine.yaml_source import Path, Problem, YamlSource, pydantic_problems
from steps import Step, SubflowStep, UnknownStepType, resolve_step_type


@dataclass
class Checked:
    """What the checks found, and what they validated on the way (used to compile the flows)."""

    problems: list[Problem] = field(default_factory=list)
    options: dict[Path, BaseModel] = field(default_factory=dict)
    conditions: dict[str, dict[BranchKey, Test]] = field(default_factory=dict)


def check_flows(source: YamlSource, spec: FlowsFile) -> Checked:
    """Every problem in `spec`, with the validated options and compiled conditions."""
    checked = Checked()
    checked.problems.extend(_check_selection(source, spec))
    for flow_name, flow in spec.flows.items():
        conditions = checked.conditions.setdefault(flow_name, {})
        checked.problems.extend(
            _check_flow(source, spec, flow_name, flow, checked.options, conditions)
        )
    checked.problems.extend(_check_subflow_cycles(source, spec))
    return checked


def _check_selection(source: YamlSource, spec: FlowsFile) -> Iterator[Problem]:
    named = [
        ("default_flow", spec.default_flow), ("registration_flow", spec.registration_flow),
        ("reset_link_flow", spec.reset_link_flow),
    ]
    for key, name in named:
        if name is not None and name not in spec.flows:
            yield source.problem((key,), f"{key} {name!r} is not a flow")
    for acr, name in spec.acr_flows.items():
        if acr not in ACR_VALUES_SUPPORTED:
            yield source.problem(
                ("acr_flows", acr),
                f"unknown acr {acr!r} (known: {', '.join(ACR_VALUES_SUPPORTED)})",
            )
        if name not in spec.flows:
            yield source.problem(("acr_flows", acr), f"acr_flows names {name!r}, not a flow")
    for action, name in spec.account_flows.items():
        if name not in spec.flows:
            yield source.problem(
                ("account_flows", action), f"account_flows names {name!r}, not a flow"
            )


def _check_flow(
    source: YamlSource,
    spec: FlowsFile,
    flow_name: str,
    flow: FlowSpec,
    options: dict[Path, BaseModel],
    conditions: dict[BranchKey, Test],
) -> Iterator[Problem]:
    base: Path = ("flows", flow_name)
    if flow.start is not None and flow.start not in flow.steps:
        yield source.problem(
            (*base, "start"), f"start step {flow.start!r} is not a step of {flow_name!r}"
        )
    for step_name, step in flow.steps.items():
        path: Path = (*base, "steps", step_name)
        if step_name in TERMINALS:
            yield source.problem(path, f"{step_name!r} is a terminal and cannot name a step")
        try:
            step_type = resolve_step_type(step.type)
        except UnknownStepType as exc:
            yield source.problem((*path, "type"), str(exc))
            continue
        try:
            options[path] = step_type.Options.model_validate(step.options)
        except ValidationError as exc:
            yield from pydantic_problems(source, exc, (*path, "options"))
            continue
        chosen = options[path]
        if isinstance(chosen, SubflowStep.Options) and chosen.flow not in spec.flows:
            yield source.problem(
                (*path, "options", "flow"), f"sub-flow {chosen.flow!r} is not a flow"
            )
        yield from _check_wiring(source, path, step_name, step_type, chosen, step, flow)
        yield from _check_branches(source, path, step_name, step, conditions)
    yield from _check_graph(source, base, flow)


def _check_wiring(
    source: YamlSource,
    path: Path,
    step_name: str,
    step_type: type[Step],
    options: BaseModel,
    step: StepSpec,
    flow: FlowSpec,
) -> Iterator[Problem]:
    required = step_type.outcomes_for(options)
    allowed = required | step_type.optional_outcomes.keys()
    for outcome in step.on:
        if outcome not in allowed:
            yield source.problem(
                (*path, "on", outcome),
                f"step {step_name!r} ({step_type.type}) never emits {outcome!r};"
                f" it emits: {', '.join(sorted(allowed))}",
            )
        for branch in step.branches(outcome):
            if branch.to not in flow.steps and branch.to not in TERMINALS:
                yield source.problem(
                    (*path, "on", outcome),
                    f"{outcome!r} leads to {branch.to!r}, which is neither a step nor a terminal"
                    f" ({', '.join(sorted(TERMINALS))})",
                )
    for outcome in sorted(required - step.on.keys()):
        yield source.problem(
            (*path, "on"), f"step {step_name!r} does not say where {outcome!r} leads"
        )


def _check_branches(
    source: YamlSource,
    path: Path,
    step_name: str,
    step: StepSpec,
    conditions: dict[BranchKey, Test],
) -> Iterator[Problem]:
    for outcome, wiring in step.on.items():
        listed = isinstance(wiring, list)
        branches = step.branches(outcome)
        for i, branch in enumerate(branches):
            here: Path = (*path, "on", outcome, i) if listed else (*path, "on", outcome)
            if branch.message is not None and branch.to not in ("deny", "error"):
                yield source.problem(
                    (*here, "message"), "only a branch to `deny` or `error` has a message"
                )
            if branch.when is None:
                if i < len(branches) - 1:
                    yield source.problem(
                        here, f"branches of {outcome!r} after this one (no `if`) are never taken"
                    )
                continue
            try:
                conditions[(step_name, outcome, i)] = compile_condition(
                    branch.when, (*here, "if")
                )
            except ConditionError as exc:
                yield source.problem(exc.path, exc.message)
        if branches[-1].when is not None:
            yield source.problem(
                (*path, "on", outcome),
                f"the last branch of {outcome!r} needs no `if`: it says where to go otherwise",
            )


def _check_graph(source: YamlSource, base: Path, flow: FlowSpec) -> Iterator[Problem]:
    edges = {name: step.targets() for name, step in flow.steps.items()}
    reachable = _closure({flow.start_step}, edges)
    for name in flow.steps:
        if name not in reachable:
            yield source.problem(
                (*base, "steps", name), f"step {name!r} cannot be reached from the start"
            )
    reverse: dict[str, set[str]] = {}
    for name, targets in edges.items():
        for target in targets:
            reverse.setdefault(target, set()).add(name)
    finishing = _closure(set(TERMINALS), reverse)
    for name in flow.steps:
        if name in reachable and name not in finishing:
            yield source.problem(
                (*base, "steps", name), f"step {name!r} can never lead to `done`, `deny` or `error`"
            )


def _check_subflow_cycles(source: YamlSource, spec: FlowsFile) -> Iterator[Problem]:
    calls: dict[str, dict[str, str]] = {}  # flow -> {step: called flow}
    for flow_name, flow in spec.flows.items():
        for step_name, step in flow.steps.items():
            called = step.options.get("flow") if step.type == SubflowStep.type else None
            if isinstance(called, str) and called in spec.flows:
                calls.setdefault(flow_name, {})[step_name] = called
    edges = {name: set(steps.values()) for name, steps in calls.items()}
    for flow_name, steps in calls.items():
        for step_name, called in steps.items():
            if flow_name in _closure({called}, edges):
                yield source.problem(
                    ("flows", flow_name, "steps", step_name, "options", "flow"),
                    f"sub-flow cycle: {flow_name!r} calls {called!r}, which leads back to"
                    f" {flow_name!r}",
                )


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
