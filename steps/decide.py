"""`decide`: a step without a page, whose one outcome `next` branches on conditions.

For choices that belong to no other step, e.g. at the start of a flow:
`on: {next: [{to: mfa, if: {acr_requested: urn:gatehouse:loa:2}}, {to: done}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from steps.base import Outcome, Page, Step, StepContext


class DecideStep(Step):
    type = "decide"
    outcomes = frozenset({"next"})
    optional_outcomes: ClassVar[dict[str, str]] = {}
    template = ""
    shows_page = False

    async def render(self, ctx: StepContext) -> Page | Outcome:
        return Outcome("next")

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        return Outcome("next")
