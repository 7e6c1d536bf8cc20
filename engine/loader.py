"""Loading `flows.yaml`: parse, validate, check, compile. All problems are reported at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from engine.checks import check_flows
from engine.compiled import CompiledFlow, compile_flow
from engine.model import FlowsFile
from engine.yaml_source import YamlSourceError, parse_yaml, pydantic_problems
from steps import resolve_step_type


class FlowsError(YamlSourceError):
    """`flows.yaml` is invalid; `problems` lists every problem with its file:line:column."""


@dataclass
class FlowSet:
    """The compiled flows of one version of the file (`version` is a hash of its content)."""

    spec: FlowsFile
    flows: dict[str, CompiledFlow]
    version: str

    @property
    def default(self) -> str:
        return self.spec.default_flow

    def get(self, name: str | None) -> CompiledFlow:
        return self.flows[name or self.default]


def load_flows(path: str | Path) -> FlowSet:
    """Load and compile a flows file; raises `FlowsError` listing every problem."""
    return load_flows_text(Path(path).read_text(encoding="utf-8"), str(path))


def load_flows_text(text: str, file: str = "flows.yaml") -> FlowSet:
    try:
        source = parse_yaml(text, file)
    except YamlSourceError as exc:
        raise FlowsError(exc.problems) from exc
    try:
        spec = FlowsFile.model_validate(source.data)
    except ValidationError as exc:
        raise FlowsError(pydantic_problems(source, exc)) from exc
    checked = check_flows(source, spec)
    if checked.problems:
        raise FlowsError(sorted(checked.problems, key=lambda p: (p.line, p.column, p.message)))
    compiled = {}
    for flow_name, flow in spec.flows.items():
        steps = {
            step_name: resolve_step_type(step.type)(
                step_name, checked.options[("flows", flow_name, "steps", step_name)]
            )
            for step_name, step in flow.steps.items()
        }
        compiled[flow_name] = compile_flow(flow_name, flow, steps, checked.conditions[flow_name])
    version = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
    return FlowSet(spec, compiled, version)
