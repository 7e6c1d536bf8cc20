"""`consent`: ask the user to let the client have the requested scopes (OIDC Core §3.1.2.4).

It asks only when needed (the client's `require_consent`, `offline_access`, or `prompt=consent`)
and not already decided for these scopes; an answer is remembered per client unless the step's
`remember` option is off. Declining leads wherever `denied` is wired (usually `deny`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from steps.base import Outcome, Page, Step, StepContext
from steps.consent_texts import CLAIM_DESCRIPTIONS, SCOPE_DESCRIPTIONS
from store import Prompt, consent_items, missing_consent, needing_consent, remember_consent


class ConsentOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remember: bool = Field(True, description="Remember the answer for this client and scopes.")


class ConsentStep(Step):
    type = "consent"
    Options = ConsentOptions
    outcomes = frozenset({"accepted", "denied"})
    template = "flow/consent.html"

    @staticmethod
    def _asked(ctx: StepContext) -> tuple[list[str], dict[str, list[str]]]:
        return ctx.sign_in.scopes, ctx.sign_in.claims

    async def render(self, ctx: StepContext) -> Page | Outcome:
        scopes, claims = self._asked(ctx)
        if Prompt.CONSENT not in ctx.sign_in.prompt:
            if ctx.run.subject is not None:
                missing = await missing_consent(ctx.store, ctx.client, ctx.run.subject, scopes, claims)
            else:
                missing = needing_consent(ctx.client, scopes, claims)
            if not missing:
                return Outcome("accepted")
        requested = sorted({name for names in claims.values() for name in names})
        return Page(
            self.template,
            {
                # Every scope is listed: one without a description shows its name.
                "scopes": [(s, SCOPE_DESCRIPTIONS.get(s)) for s in scopes],
                "claims": [CLAIM_DESCRIPTIONS.get(name, name) for name in requested],
            },
        )

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if form.get("decision") != "allow":
            return Outcome("denied")
        items = consent_items(*self._asked(ctx))
        if self.options.remember and ctx.run.subject is not None:  # type: ignore[attr-defined]
            await remember_consent(ctx.store, ctx.client, ctx.run.subject, items, ctx.now)
        ctx.flow_data()["consented"] = items
        return Outcome("accepted")
