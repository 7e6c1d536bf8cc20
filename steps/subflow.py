"""`flow`: run another flow as a sub-flow, then come back.

The engine handles this step itself: entering it starts the named flow; when that flow reaches
`done` or `deny`, this step emits the same outcome in the calling flow (so a caller can recover
from a denied sub-flow). `error` in a sub-flow ends the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from steps.base import Outcome, Page, Step, StepContext


class SubflowOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flow: str = Field(description="The flow to run.")


class SubflowStep(Step):
    type = "flow"
    Options = SubflowOptions
    outcomes = frozenset({"done", "deny"})
    optional_outcomes: ClassVar[dict[str, str]] = {}
    template = ""
    shows_page = False

    async def render(self, ctx: StepContext) -> Page | Outcome:
        raise RuntimeError("the engine enters sub-flows itself")

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        raise RuntimeError("the engine enters sub-flows itself")
