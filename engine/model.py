"""pydantic models of `flows.yaml`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Where a run can end. `done`: the user is authenticated; `deny`: the client gets access_denied.
TERMINALS = frozenset({"done", "deny"})


class StepSpec(BaseModel):
    """One step of a flow: its type, its options, and where each outcome leads."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="A built-in step type, or package.module:ClassName.")
    options: dict[str, Any] = Field(default_factory=dict, description="Checked by the step type.")
    on: dict[str, str] = Field(
        default_factory=dict, description="outcome -> next step name, `done` or `deny`."
    )


class FlowSpec(BaseModel):
    """A named journey: steps, and the one it starts at (the first, unless `start` says)."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    start: str | None = None
    steps: dict[str, StepSpec] = Field(min_length=1)

    @property
    def start_step(self) -> str:
        return self.start or next(iter(self.steps))


class FlowsFile(BaseModel):
    """The whole `flows.yaml`."""

    model_config = ConfigDict(extra="forbid")

    default_flow: str = Field("default", description="The flow for clients that name none.")
    flows: dict[str, FlowSpec] = Field(min_length=1)
