"""`identify`: ask who is signing in (username or email), honouring `login_hint`.

It never says whether the account exists (the password step answers the same either way).
"""

from __future__ import annotations

from collections.abc import Mapping

from steps.base import Outcome, Page, Step, StepContext
from ui.messages import N_

MAX_LOGIN_LENGTH = 254


class IdentifyStep(Step):
    type = "identify"
    outcomes = frozenset({"success"})
    optional_outcomes = {**Step.optional_outcomes, "register": N_("Create an account")}
    template = "flow/identify.html"

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.run.subject is not None:
            return Outcome("success")  # known from the session this run adds to (step-up)
        login = ctx.flow_data().get("login") or ctx.request.get("login_hint") or ""
        return Page(self.template, {"login": login})

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        login = form.get("login", "").strip()
        if not login:
            return Page(
                self.template, {"login": ""}, {"login": N_("Enter your username or email.")}
            )
        if len(login) > MAX_LOGIN_LENGTH:
            return Page(
                self.template,
                {"login": ""},
                {"login": N_("That is too long to be a username or email.")},
            )
        ctx.flow_data()["login"] = login
        return Outcome("success")
