"""A third-party step type for the registry tests, loaded by its dotted path."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from steps.base import Outcome, Page, Step, StepContext


class AskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str


class AskStep(Step):
    type = "ask"
    Options = AskOptions
    outcomes = frozenset({"yes", "no"})
    template = "flow/identify.html"

    async def render(self, ctx: StepContext) -> Page:
        return Page(self.template, {"question": self.options.question})  # type: ignore[attr-defined]

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        return Outcome("yes" if form.get("answer") == "yes" else "no")


class NotAStep:
    """Looks like a step, but does not subclass `steps.base.Step`."""

    type = "fake"
    outcomes = frozenset({"success"})


def not_a_class() -> None:
    """A function, not a class."""
