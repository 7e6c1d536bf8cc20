"""`password`: verify a password with argon2id, for the login `identify` collected or, when the
flow has no `identify` before it, for a login typed on the same page (and `login_hint` prefills it).

An unknown login and a wrong password get the same page after the same work (one argon2 verify),
so the step does not reveal which accounts exist. Wrong passwords are throttled per account (or per
unknown login) and per client address (steps/throttling.py); a blocked guess is not even checked.
"""

from __future__ import annotations

from collections.abc import Mapping

from steps.base import Outcome, Page, Step, StepContext
from steps.identify import MAX_LOGIN_LENGTH
from steps.throttling import Throttle, throttled
from ui.messages import N_

MAX_PASSWORD_LENGTH = 1024
WRONG = N_("Incorrect username or password.")


class PasswordStep(Step):
    type = "password"
    outcomes = frozenset({"success"})
    optional_outcomes = {
        **Step.optional_outcomes,
        "forgot": N_("Forgot your password?"),
        "register": N_("Create an account"),
    }
    template = "flow/password.html"

    def _page(self, ctx: StepContext, typed_login: str = "") -> Page:
        identified = ctx.flow_data().get("login")
        login = identified or typed_login or ctx.request.get("login_hint") or ""
        return Page(self.template, {"login": login, "identified": bool(identified)})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        if ctx.proved("knowledge"):
            return Outcome("success")  # proved already in this run or its session (step-up)
        return self._page(ctx)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        typed = form.get("login", "").strip()[:MAX_LOGIN_LENGTH]
        login = ctx.flow_data().get("login") or typed
        password = form.get("password", "")
        page = self._page(ctx, typed)
        if not password:
            page.errors["password"] = N_("Enter your password.")
            return page
        user = await ctx.store.users.find_by_login(login) if login else None
        throttle = Throttle.of(ctx, "password", user.id if user else f"login:{login.lower()}",
                               subject=user.id if user else None)
        candidate = password[:MAX_PASSWORD_LENGTH]
        guess = await throttle.guess(
            ctx.now, lambda: ctx.passwords.verify(user.password_hash if user else None, candidate)
        )
        if guess.wait:
            return throttled(page, "password", guess.wait)
        if not guess.right:
            page.errors["password"] = WRONG
            return page
        assert user is not None and user.password_hash is not None
        if ctx.passwords.needs_rehash(user.password_hash):
            user.password_hash = await ctx.passwords.hash(candidate)
            await ctx.store.users.update(user)
        ctx.identify(user)
        ctx.record_authentication("pwd", "knowledge")
        return Outcome("success")

