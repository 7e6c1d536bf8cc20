"""`remember_device`: offer to remember this browser for N days, so the `known_device`
condition can skip the second factor here. The answer becomes a signed cookie bound to the user;
forgetting remembered browsers on the account page, removing a second factor there, or a new
password voids it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from steps.base import Outcome, Page, Step, StepContext
from store import RememberDevice

DAY = 24 * 3600


class RememberDeviceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int = Field(30, ge=1, le=365, description="How long the browser is remembered.")


class RememberDeviceStep(Step):
    type = "remember_device"
    Options = RememberDeviceOptions
    outcomes = frozenset({"success"})
    optional_outcomes: ClassVar[dict[str, str]] = {}
    template = "flow/remember_device.html"

    @property
    def days(self) -> int:
        assert isinstance(self.options, RememberDeviceOptions)
        return self.options.days

    async def render(self, ctx: StepContext) -> Page | Outcome:
        user = await ctx.user()
        if user is None:
            return Outcome("success")
        at = ctx.browser.remembered.get(user.id)
        if at is not None and at >= user.devices_forgotten_at:
            return Outcome("success")  # already remembered here
        return Page(self.template, {"days": self.days})

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if form.get("remember") == "yes" and ctx.run.subject is not None:
            ctx.run.remember_device = RememberDevice(
                subject=ctx.run.subject, at=ctx.now, until=ctx.now + self.days * DAY
            )
        return Outcome("success")
