"""A custom condition for the engine tests, loaded by its dotted path."""

from __future__ import annotations

from engine.conditions import Condition
from steps.base import StepContext


class NameStartsWith(Condition):
    name = "name_starts_with"
    Argument = str

    async def test(self, ctx: StepContext) -> bool:
        user = await ctx.user()
        return user is not None and user.username.startswith(self.argument)
