"""A second-factor stand-in for engine tests: proves possession with the code 123456."""

from __future__ import annotations

from collections.abc import Mapping

from steps.base import Outcome, Page, Step, StepContext


class FakeOtpStep(Step):
    type = "fake_otp"
    outcomes = frozenset({"success"})
    template = "flow/identify.html"

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if any(e.factor == "possession" for e in ctx.run.auth_events):
            return Outcome("success")
        return Page(self.template)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if form.get("code") != "123456":
            return Page(self.template, errors={"code": "wrong"})
        ctx.record_authentication("otp", "possession")
        return Outcome("success")


class BrokenStep(Step):
    """Fails as a custom step might: raises in `render` for the login hint `fail-render`, shows a
    page whose template is missing for `no-template`, and on a form raises (`do=raise`) or
    answers an outcome it never declared (`do=stray`)."""

    type = "broken"
    outcomes = frozenset({"success"})
    template = "flow/identify.html"

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.sign_in.login_hint == "fail-render":
            raise RuntimeError("render broke")
        if ctx.sign_in.login_hint == "no-template":
            return Page("flow/no-such-page.html")
        return Page(self.template)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if form.get("do") == "raise":
            raise ValueError("handle broke")
        if form.get("do") == "stray":
            return Outcome("stray")
        return Outcome("success")


class VisitCountStep(Step):
    """Counts the user's sign-ins in data of its own kept on the user (`ctx.user_data`)."""

    type = "visit_count"
    outcomes = frozenset({"success"})
    template = "flow/identify.html"
    NAMESPACE = "tests.visit_count"

    async def render(self, ctx: StepContext) -> Page | Outcome:  # may run more than once
        data = await ctx.user_data(self.NAMESPACE)
        return Page(self.template, {"visits": data.get("visits", 0)})

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        data = await ctx.user_data(self.NAMESPACE)
        data["visits"] = data.get("visits", 0) + 1
        await ctx.save_user_data(self.NAMESPACE, data)
        return Outcome("success")
