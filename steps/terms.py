"""`terms`: accept a version of the terms of service, once per version and user.

Place it after the user is identified (or after `register`): acceptance is kept on the user
record, and a new `version` asks everyone again ("accept new terms" as a required action).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from steps.base import Outcome, Page, Step, StepContext


class TermsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, description="The version to accept, e.g. 2026-11.")
    url: str | None = Field(None, description="Where the full text is (a link on the page).")
    summary: str | None = Field(None, description="A short text shown above the buttons.")


class TermsStep(Step):
    type = "terms"
    Options = TermsOptions
    outcomes = frozenset({"accepted", "declined"})
    template = "flow/terms.html"

    async def render(self, ctx: StepContext) -> Page | Outcome:
        options: TermsOptions = self.options  # type: ignore[assignment]
        user = await ctx.user()
        if user is not None and options.version in user.terms_accepted:
            return Outcome("accepted")
        return Page(self.template, {"version": options.version, "url": options.url,
                                    "summary": options.summary})

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        options: TermsOptions = self.options  # type: ignore[assignment]
        if form.get("decision") == "decline":
            return Outcome("declined")
        if form.get("accept") != "yes":
            page = await self.render(ctx)
            assert isinstance(page, Page)
            page.errors["accept"] = N_("Tick the box to accept the terms, or decline.")
            return page
        user = await ctx.user()
        if user is not None:
            user.terms_accepted[options.version] = ctx.now
            await ctx.store.users.update(user)
        return Outcome("accepted")
