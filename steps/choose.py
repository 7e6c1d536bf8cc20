"""`choose`: "try another way": the person picks how to continue among the choices they can use.

Each choice is an outcome of this step, wired in `on:` like any other. A choice that `requires` a
credential kind is offered only to users who have one; when a single choice is left it is taken
without asking.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core import N_
from steps.base import Outcome, Page, Step, StepContext
from steps.credentials import CredentialKind, credential_kinds


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="The outcome it emits.")
    label: str = Field(min_length=1, description="The button text.")
    requires: CredentialKind | None = Field(None, description="Offer it only to users with this.")


class ChooseOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choices: list[Choice] = Field(min_length=1, description="The ways on, in order.")
    title: str = Field(N_("Choose how to sign in"), min_length=1, description="The page heading.")

    @field_validator("choices")
    @classmethod
    def _distinct(cls, choices: list[Choice]) -> list[Choice]:
        names = [choice.outcome for choice in choices]
        if len(set(names)) != len(names):
            raise ValueError("two choices have the same outcome")
        return choices


class ChooseStep(Step):
    type = "choose"
    Options = ChooseOptions
    outcomes: ClassVar[frozenset[str]] = frozenset()
    optional_outcomes: ClassVar[dict[str, str]] = {}
    template = "flow/choose.html"

    @classmethod
    def outcomes_for(cls, options: BaseModel) -> frozenset[str]:
        assert isinstance(options, ChooseOptions)
        return frozenset(choice.outcome for choice in options.choices)

    @property
    def settings(self) -> ChooseOptions:
        assert isinstance(self.options, ChooseOptions)
        return self.options

    async def _available(self, ctx: StepContext) -> list[Choice]:
        kinds = await credential_kinds(ctx)
        return [c for c in self.settings.choices if c.requires is None or c.requires in kinds]

    async def render(self, ctx: StepContext) -> Page | Outcome:
        available = await self._available(ctx)
        if len(available) == 1:
            return Outcome(available[0].outcome)
        page = Page(self.template, {
            "choices": [(c.outcome, c.label) for c in available], "title": self.settings.title,
        })
        if not available:
            page.errors["choice"] = N_("There is no other way to sign in to this account here.")
        return page

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        chosen = form.get("choice", "")
        if chosen in {c.outcome for c in await self._available(ctx)}:
            return Outcome(chosen)
        page = await self.render(ctx)
        return page if isinstance(page, Page) else Outcome(page.name)
