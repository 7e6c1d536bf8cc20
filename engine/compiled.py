"""A flow compiled to one shared `transitions` state machine, and the step instances it uses.

Each branch of an outcome is one transition, in the order written; its condition was evaluated
(asynchronously, by the engine) before the event fires, and the transition's guard only reads that
result, so transitions picks the first branch whose condition held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transitions import EventData, Machine
from transitions.core import MachineError

from engine.conditions import Test
from engine.model import TERMINALS, Branch, FlowSpec
from steps import Step

BranchKey = tuple[str, str, int]  # step, outcome, position


class _Cursor:
    """The only model ever added to a machine: transitions patches methods onto its models."""

    state: str


class _Guard:
    """A transition's condition: reads the branch's pre-evaluated result."""

    def __init__(self, key: BranchKey) -> None:
        self.key = key

    def __call__(self, event: EventData) -> bool:
        truths: Mapping[BranchKey, bool] = event.kwargs.get("truths", {})
        return truths.get(self.key, False)


@dataclass
class CompiledFlow:
    name: str
    spec: FlowSpec
    steps: dict[str, Step]
    conditions: dict[BranchKey, Test]
    machine: Machine
    # Each condition as flows.yaml writes it, for the run's event log (written once: YAML is slow).
    descriptions: dict[BranchKey, str]

    @property
    def start(self) -> str:
        return self.spec.start_step

    def branches(self, state: str, outcome: str) -> list[tuple[BranchKey, Branch]]:
        step = self.spec.steps.get(state)
        if step is None or outcome not in step.on:
            raise MachineError(f"flow {self.name!r} has no outcome {outcome!r} (from {state!r})")
        return [((state, outcome, i), b) for i, b in enumerate(step.branches(outcome))]

    def advance(
        self, state: str, outcome: str, truths: Mapping[BranchKey, bool] | None = None
    ) -> str:
        """The state `outcome` leads to from `state`, given the result of each branch condition
        (a conditional branch without a result is not taken)."""
        self.branches(state, outcome)  # an unknown outcome is an error, not a silent no-op
        cursor = _Cursor()
        self.machine.add_model(cursor, initial=state)
        try:
            if not cursor.trigger(outcome, truths=truths or {}):  # type: ignore[attr-defined]
                raise MachineError(f"no branch of {state!r} -> {outcome!r} applies")
            return cursor.state
        finally:
            self.machine.remove_model(cursor)


def compile_flow(
    name: str, spec: FlowSpec, steps: dict[str, Step], conditions: dict[BranchKey, Test]
) -> CompiledFlow:
    """Build the machine once; runs share it through `CompiledFlow.advance`."""
    transitions = [
        {
            "trigger": outcome,
            "source": step_name,
            "dest": branch.to,
            "conditions": [_Guard((step_name, outcome, i))] if branch.when is not None else [],
        }
        for step_name, step in spec.steps.items()
        for outcome in step.on
        for i, branch in enumerate(step.branches(outcome))
    ]
    machine = Machine(
        model=None,
        states=[*spec.steps, *sorted(TERMINALS)],
        transitions=transitions,
        initial=spec.start_step,
        auto_transitions=False,
        send_event=True,
    )
    descriptions = {key: test.describe() for key, test in conditions.items()}
    return CompiledFlow(name, spec, steps, conditions, machine, descriptions)
