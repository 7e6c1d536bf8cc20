"""Static checks of a parsed flows file, reported all at once with their positions."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel, ValidationError

from engine.model import TERMINALS, FlowsFile, FlowSpec
from engine.yaml_source import Path, Problem, YamlSource, pydantic_problems
from steps.base import Step
from steps.registry import UnknownStepType, resolve_step_type


def check_flows(source: YamlSource, spec: FlowsFile) -> tuple[list[Problem], dict[Path, BaseModel]]:
    """Every problem in `spec`, and the validated options of each step (by its path)."""
    problems: list[Problem] = []
    options: dict[Path, BaseModel] = {}
    if spec.default_flow not in spec.flows:
        problems.append(
            source.problem(("default_flow",), f"default_flow {spec.default_flow!r} is not a flow")
        )
    for flow_name, flow in spec.flows.items():
        problems.extend(_check_flow(source, flow_name, flow, options))
    return problems, options


def _check_flow(
    source: YamlSource, flow_name: str, flow: FlowSpec, options: dict[Path, BaseModel]
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
        yield from _check_wiring(source, path, step_name, step_type, step.on, flow)
    yield from _check_graph(source, base, flow)


def _check_wiring(
    source: YamlSource,
    path: Path,
    step_name: str,
    step_type: type[Step],
    wiring: dict[str, str],
    flow: FlowSpec,
) -> Iterator[Problem]:
    for outcome, target in wiring.items():
        if outcome not in step_type.outcomes:
            yield source.problem(
                (*path, "on", outcome),
                f"step {step_name!r} ({step_type.type}) never emits {outcome!r};"
                f" it emits: {', '.join(sorted(step_type.outcomes))}",
            )
        if target not in flow.steps and target not in TERMINALS:
            yield source.problem(
                (*path, "on", outcome),
                f"{outcome!r} leads to {target!r}, which is neither a step nor a terminal"
                f" ({', '.join(sorted(TERMINALS))})",
            )
    for outcome in sorted(step_type.outcomes - wiring.keys()):
        yield source.problem(
            (*path, "on"), f"step {step_name!r} does not say where {outcome!r} leads"
        )


def _check_graph(source: YamlSource, base: Path, flow: FlowSpec) -> Iterator[Problem]:
    edges = {name: set(step.on.values()) for name, step in flow.steps.items()}
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
                (*base, "steps", name), f"step {name!r} can never lead to `done` or `deny`"
            )


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
