"""`consent`: ask the user to let the client have the requested scopes (OIDC Core §3.1.2.4).

It asks only when needed (the client's `require_consent`, `offline_access`, or `prompt=consent`)
and not already decided for these scopes; an answer is remembered per client unless the step's
`remember` option is off. Declining leads wherever `denied` is wired (usually `deny`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from oidc.consent import (
    CLAIM_DESCRIPTIONS,
    SCOPE_DESCRIPTIONS,
    missing_consent,
    remember_consent,
    scopes_needing_consent,
)
from steps.base import Outcome, Page, Step, StepContext


class ConsentOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remember: bool = Field(True, description="Remember the answer for this client and scopes.")


class ConsentStep(Step):
    type = "consent"
    Options = ConsentOptions
    outcomes = frozenset({"accepted", "denied"})
    template = "flow/consent.html"

    def _scopes(self, ctx: StepContext) -> list[str]:
        return str(ctx.request.get("scope") or "").split()

    async def render(self, ctx: StepContext) -> Page | Outcome:
        scopes = self._scopes(ctx)
        asked = "consent" in (ctx.request.get("prompt") or [])
        if not asked and ctx.run.subject is not None:
            if not await missing_consent(ctx.store, ctx.client, ctx.run.subject, scopes):
                return Outcome("accepted")
        elif not asked and not scopes_needing_consent(ctx.client, scopes):
            return Outcome("accepted")
        claims = ctx.request.get("claims") or {}
        requested = sorted({name for names in claims.values() for name in names})
        return Page(
            self.template,
            {
                "scopes": [(s, SCOPE_DESCRIPTIONS[s]) for s in scopes if s in SCOPE_DESCRIPTIONS],
                "claims": [CLAIM_DESCRIPTIONS.get(name, name) for name in requested],
            },
        )

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        if form.get("decision") != "allow":
            return Outcome("denied")
        scopes = self._scopes(ctx)
        if self.options.remember and ctx.run.subject is not None:  # type: ignore[attr-defined]
            await remember_consent(ctx.store, ctx.client, ctx.run.subject, scopes, ctx.now)
        ctx.flow_data()["consented"] = scopes
        return Outcome("accepted")
