"""`recovery_codes_setup`: give the identified user a set of recovery codes, shown once.

A user who has recovery codes already passes without a page (unless `replace` is set). Otherwise
codes are made when the page first shows, and stored only when the user confirms they saved them:
until then the user's earlier codes (if any) still work, and the run keeps the new codes sealed in
the step's scratch (a reload shows the same codes) next to their credential ids, which are what
gets stored. The confirmation wipes them from the run.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from observe import audit
from steps import recovery_codes
from steps.base import Outcome, Page, Step, StepContext
from store import SealError

NO_USER = N_("Sign in before setting up recovery codes.")
NOT_CONFIRMED = N_("Confirm that you have saved the codes.")
CODES_CHANGED = N_("Your recovery codes were changed in the meantime. Save these new codes.")


class RecoveryCodesSetupOptions(BaseModel):
    """Options of `recovery_codes_setup`."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(
        recovery_codes.DEFAULT_COUNT, ge=5, le=20, description="How many codes to make."
    )
    replace: bool = Field(
        False,
        description="Make new codes even for a user who has some (they replace the old ones);"
        " for the account page's \"new recovery codes\".",
    )


class RecoveryCodesSetupStep(Step):
    type = "recovery_codes_setup"
    Options = RecoveryCodesSetupOptions
    outcomes = frozenset({"success"})
    template = "flow/recovery_codes_setup.html"

    @property
    def settings(self) -> RecoveryCodesSetupOptions:
        assert isinstance(self.options, RecoveryCodesSetupOptions)
        return self.options

    def _page(self, codes: list[str], errors: dict[str, str] | None = None) -> Page:
        return Page(self.template, {"codes": codes}, errors or {})

    @staticmethod
    def _shown(ctx: StepContext, user_id: str) -> list[str] | None:
        """The codes this step is showing the user, if any (sealed in the run)."""
        sealed = ctx.scratch.get("codes")
        if ctx.scratch.get("user") != user_id or not isinstance(sealed, list):
            return None
        try:
            return [ctx.services.sealer.open(str(code)) for code in sealed]
        except SealError:
            return None

    async def _prepare(self, ctx: StepContext, user_id: str) -> list[str]:
        """Make new codes and note them in the run, stored nowhere else until confirmed: sealed
        (to show them again), their credential ids (to store), and the ids the user has now."""
        codes = recovery_codes.generate(self.settings.count)
        ctx.scratch.clear()
        ctx.scratch.update(
            user=user_id,
            codes=[ctx.services.sealer.seal(code) for code in codes],
            ids=[recovery_codes.credential_id(user_id, code) for code in codes],
            before=sorted(await recovery_codes.stored_ids(ctx.store, user_id)),
        )
        return codes

    async def _store(self, ctx: StepContext, user_id: str) -> None:
        """Store the confirmed codes in place of the user's earlier ones."""
        ids = [str(code_id) for code_id in ctx.scratch.get("ids", [])]
        ctx.scratch.clear()
        # Save the run first: of two submits of one confirmation, only one stores the codes
        # (the other raises `StaleVersionError` and is shown where the run is).
        await ctx.checkpoint()
        await recovery_codes.store_ids(ctx.store, user_id, ids, ctx.now)
        await audit(
            ctx.store, "mfa_changed", subject=user_id, client_id=ctx.client.client_id,
            change="issued", method=recovery_codes.KIND, count=len(ids),
        )

    async def render(self, ctx: StepContext) -> Page | Outcome:
        user = await ctx.user()
        if user is None:
            return self._page([], {"page": NO_USER})
        shown = self._shown(ctx, user.id)
        if shown is not None:
            return self._page(shown)
        if not self.settings.replace and await recovery_codes.codes_left(ctx.store, user.id):
            return Outcome("success")
        return self._page(await self._prepare(ctx, user.id))

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page:
        user = await ctx.user()
        if user is None:
            return self._page([], {"page": NO_USER})
        shown = self._shown(ctx, user.id)
        if shown is None:  # none on show (wiped, or sealed with a key dropped since)
            result = await self.render(ctx)
            if isinstance(result, Page) and not result.errors:
                result.errors["page"] = CODES_CHANGED
            return result
        current = await recovery_codes.stored_ids(ctx.store, user.id)
        if not current <= set(ctx.scratch.get("before", [])):
            # Another request stored other codes since these were shown (codes used up meanwhile
            # do not matter): the user may have saved those, so say so and show new ones.
            return self._page(await self._prepare(ctx, user.id), {"page": CODES_CHANGED})
        if not form.get("confirm"):
            return self._page(shown, {"confirm": NOT_CONFIRMED})
        await self._store(ctx, user.id)
        return Outcome("success")
