"""A flow compiled to one shared `transitions` state machine, and the step instances it uses."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from transitions import Machine
from transitions.core import MachineError

from engine.model import TERMINALS, FlowSpec
from steps.base import Step


class _Cursor:
    """The only model ever added to a machine: transitions patches methods onto its models."""

    state: str


@dataclass
class CompiledFlow:
    name: str
    spec: FlowSpec
    hash: str
    steps: dict[str, Step]
    machine: Machine

    @property
    def start(self) -> str:
        return self.spec.start_step

    def advance(self, state: str, outcome: str) -> str:
        """The state that `outcome` leads to from `state` (raises MachineError if none)."""
        if outcome not in self.machine.events:
            # transitions would raise AttributeError for an event it has never heard of.
            raise MachineError(f"flow {self.name!r} has no outcome {outcome!r} (from {state!r})")
        cursor = _Cursor()
        self.machine.add_model(cursor, initial=state)
        try:
            cursor.trigger(outcome)  # type: ignore[attr-defined]
            return cursor.state
        finally:
            self.machine.remove_model(cursor)


def compile_flow(name: str, spec: FlowSpec, steps: dict[str, Step]) -> CompiledFlow:
    """Build the machine once; runs share it through `CompiledFlow.advance`."""
    transitions = [
        {"trigger": outcome, "source": step_name, "dest": target}
        for step_name, step in spec.steps.items()
        for outcome, target in step.on.items()
    ]
    machine = Machine(
        model=None,
        states=[*spec.steps, *sorted(TERMINALS)],
        transitions=transitions,
        initial=spec.start_step,
        auto_transitions=False,
    )
    digest = hashlib.sha256(json.dumps(spec.model_dump(), sort_keys=True).encode()).hexdigest()
    return CompiledFlow(name, spec, digest[:16], steps, machine)
