"""`federated`: "Sign in with <provider>" for the upstream OpenID providers in the config.

The browser goes to the provider and comes back to `/federation/<id>/callback`; the run waits at
this step meanwhile. An upstream account linked to a user signs that user in. A new one either
creates an account here (the person picks a username; the provider's claims fill the rest) or,
after the person signs in to an existing account (the `link` outcome, wired to a sign-in
sub-flow that returns here), is linked to it. An address the provider asserts never links
accounts by itself. Upstream failures show this step again with a message; the run goes on.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from core import N_
from federation import Attempt, Upstream, UpstreamError, UpstreamIdentity
from observe import audit
from steps.base import Outcome, Page, Redirect, Step, StepContext
from steps.register import TAKEN_USERNAME, check_field, default_fields
from store import DuplicateError, Factor, LinkedIdentityRecord, Prompt, UserRecord

log = logging.getLogger("gatehouse.federation")

PENDING, UPSTREAM = "pending_identity", "upstream"
VIA = "_via"  # added by the callback route: the provider whose redirect URI was used
# RFC 8176 amr values by the factor class they prove.
FACTOR_OF: dict[str, Factor] = {
    "pwd": "knowledge", "pin": "knowledge", "kba": "knowledge",
    "otp": "possession", "hwk": "possession", "swk": "possession", "sms": "possession",
    "tel": "possession", "sc": "possession",
    "fpt": "inherence", "face": "inherence", "iris": "inherence", "retina": "inherence",
    "vbm": "inherence",
}
UNREACHABLE = N_("%(provider)s cannot be reached right now. Try again later, or sign in another way.")
FAILED = N_("Signing in with %(provider)s did not work. Try again, or sign in another way.")
CANCELLED = N_("Signing in with %(provider)s was cancelled.")
LINKED_ELSEWHERE = N_("This %(provider)s account is linked to another account here.")
EMAIL_TAKEN = N_(
    "An account with this email address exists here. Sign in to it to link your %(provider)s account."
)
SECOND_FACTOR_FIRST = N_(
    "To link your %(provider)s account, sign in with your second factor too."
)
NOT_ADMITTED = N_("Your %(provider)s account cannot sign in here.")
NOT_FRESH = N_(
    "%(provider)s cannot confirm that you have just signed in, which this application asks for."
    " Sign in another way."
)
SECOND_FACTORS = frozenset({"totp", "webauthn"})


def state_of(run_id: str, secret: str) -> str:
    """The `state` sent upstream: which run, and the secret only this run knows."""
    return f"{run_id}.{secret}"


def run_id_of(state: str) -> str:
    return state.partition(".")[0]


class FederatedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: list[str] | None = Field(
        None, description="The `upstream_providers` offered, by id, in order; unset: all of them."
    )
    create_users: bool = Field(
        True, description="A new upstream account may create an account here."
    )
    link_accounts: bool = Field(
        True,
        description="A new upstream account may be linked to an existing account once that"
        " account signs in (the `link` outcome, wired to a sign-in that returns here).",
    )
    offer_when_signed_in: bool = Field(
        False,
        description="Offer the providers even when the run knows the user already (from the"
        " session): the upstream account signed in with is then linked to that user. For the"
        " account page's `link-account` flow; otherwise a known user passes at once.",
    )


class FederatedStep(Step):
    type = "federated"
    Options = FederatedOptions
    outcomes = frozenset({"success"})
    optional_outcomes: ClassVar[dict[str, str]] = {
        **Step.optional_outcomes, "local": N_("Use a username and password")
    }
    template = "flow/federated.html"

    @classmethod
    def outcomes_for(cls, options: BaseModel) -> frozenset[str]:
        assert isinstance(options, FederatedOptions)
        return cls.outcomes | ({"link"} if options.link_accounts else set())

    @property
    def settings(self) -> FederatedOptions:
        assert isinstance(self.options, FederatedOptions)
        return self.options

    def _offered(self, ctx: StepContext) -> list[Upstream]:
        upstreams = ctx.services.upstreams
        ids = self.settings.providers if self.settings.providers is not None else list(upstreams)
        return [upstreams[i] for i in ids if i in upstreams]

    def _choose_page(self, ctx: StepContext, error: tuple[str, str] | None = None) -> Page:
        providers = [
            {"id": u.id, "name": u.settings.name, "label": u.settings.label,
             "icon": u.settings.icon}
            for u in self._offered(ctx)
        ]
        return Page(self.template, {"mode": "choose", "providers": providers, "error": error})

    def _refused(self, ctx: StepContext, message: str, provider: str) -> Page:
        """The buttons again, with what went wrong (kept until the person acts)."""
        ctx.scratch["error"] = (message, provider)
        return self._choose_page(ctx, (message, provider))

    def _account_page(
        self, ctx: StepContext, pending: dict[str, Any], username: str = "",
        errors: dict[str, str] | None = None, error: tuple[str, str] | None = None,
    ) -> Page:
        """The page for an upstream account that is linked to nobody yet."""
        signed_in = ctx.flow_data().get("login") if ctx.run.subject else None
        return Page(self.template, {
            "mode": "link_here" if signed_in else "new",
            "provider": pending["name"], "who": pending["who"], "login": signed_in,
            "username": username or pending["username"], "error": error,
            "create": self.settings.create_users, "link": self.settings.link_accounts,
        }, errors or {})

    async def render(self, ctx: StepContext) -> Page | Outcome:
        pending = ctx.flow_data().get(PENDING)
        if pending is not None and ctx.run.subject is not None and _proved_since(ctx, pending["at"]):
            if pending.get("linking"):
                return await self._link(ctx, pending, since=pending["at"])  # back from `link`
            del ctx.flow_data()[PENDING]  # back from `local`: the person went another way
            pending = None
        if pending is None:
            if ctx.run.subject is not None and not self.settings.offer_when_signed_in:
                ctx.scratch.pop("error", None)
                return Outcome("success")  # known from the session, or back from `local`
            # Kept until the person acts: a page may be rendered twice (settled, then shown).
            error = ctx.scratch.get("error")
            return self._choose_page(ctx, tuple(error) if error else None)
        return self._account_page(ctx, pending)

    async def handle(self, ctx: StepContext, form: Mapping[str, str]) -> Outcome | Page | Redirect:
        ctx.scratch.pop("error", None)
        pending = ctx.flow_data().get(PENDING)
        if pending is not None:
            return await self._decide(ctx, pending, form)
        upstream = next((u for u in self._offered(ctx) if u.id == form.get("provider")), None)
        if upstream is None:
            return self._choose_page(ctx)
        max_age = ctx.sign_in.max_age
        login = Prompt.LOGIN in ctx.sign_in.prompt
        if (login or max_age is not None) and not upstream.proves_freshness:
            # OIDC Core §3.1.2.1: prompt=login and max_age ask for a sign-in made now, which a
            # provider that never says when its user signed in cannot show.
            return self._refused(ctx, NOT_FRESH, upstream.settings.name)
        attempt = Attempt.new(max_age)
        try:
            url = await upstream.authorization_url(
                replace(attempt, state=state_of(ctx.run.id, attempt.state)),
                login_hint=ctx.sign_in.login_hint, login=login,
            )
        except UpstreamError as exc:
            log.warning("upstream %s: %s", upstream.id, exc.reason)
            return self._refused(ctx, UNREACHABLE, upstream.settings.name)
        ctx.scratch["attempt"] = {"provider": upstream.id, **asdict(attempt)}
        return Redirect(url)

    async def _decide(
        self, ctx: StepContext, pending: dict[str, Any], form: Mapping[str, str]
    ) -> Outcome | Page:
        """What the person chose for a new upstream account."""
        choice = form.get("choice", "")
        if choice == "create" and self.settings.create_users:
            return await self._create(ctx, pending, form.get("username", ""))
        if choice == "link" and self.settings.link_accounts:
            pending["linking"] = True  # only a sign-in the person chose to link with links
            return Outcome("link")
        if choice == "link_here" and ctx.run.subject is not None and _proved_since(ctx, 0):
            return await self._link(ctx, pending, since=0)
        if choice == "cancel":
            del ctx.flow_data()[PENDING]
            return self._choose_page(ctx)
        return self._account_page(ctx, pending)

    async def returned(self, ctx: StepContext, params: Mapping[str, str]) -> Outcome | None:
        began = ctx.scratch.pop("attempt", None)  # one use: a replayed response finds nothing
        upstream = ctx.services.upstreams.get(began["provider"]) if began else None
        _, _, secret = params.get("state", "").partition(".")
        # One redirect URI per provider: a response must come back through the one it left for.
        if began is None or upstream is None or params.get(VIA) != upstream.id or not secrets.compare_digest(
            secret.encode(), str(began["state"]).encode()
        ):
            ctx.scratch["error"] = (FAILED, upstream.settings.name if upstream else "")
            return None
        attempt = Attempt(state_of(ctx.run.id, began["state"]), began["nonce"],
                          began["code_verifier"], began.get("max_age"))
        try:
            identity = await upstream.finish(params, attempt)
        except UpstreamError as exc:
            log.warning("upstream %s: %s", upstream.id, exc.reason)
            ctx.scratch["error"] = (CANCELLED if exc.denied else FAILED, upstream.settings.name)
            return None
        if not upstream.settings.admits(identity.claims):
            log.info("upstream %s: %s lacks the required claims", upstream.id, identity.subject)
            ctx.scratch["error"] = (NOT_ADMITTED, upstream.settings.name)
            return None
        linked = await ctx.store.identities.get(upstream.id, identity.subject)
        user = await ctx.store.users.get(linked.user_id) if linked else None
        if linked is None or user is None:
            if linked is not None:  # its user was deleted: the upstream account is free again
                await ctx.store.identities.delete(linked.id)
            ctx.flow_data()[PENDING] = _pending(upstream, identity, ctx.now)
            return None
        if ctx.run.session_sid is not None and ctx.run.subject not in (None, user.id):
            ctx.scratch["error"] = (LINKED_ELSEWHERE, upstream.settings.name)
            return None  # adding to a signed-in user's session (the account page, step-up)
        await ctx.store.identities.touch(linked, ctx.now)
        if upstream.settings.sync_claims:
            synced = {**user.claims, **_mapped_claims(upstream, identity.claims)}
            if synced != user.claims:
                user.claims = synced
                await ctx.store.users.update(user)
        return _signed_in(ctx, user, upstream, identity.claims)

    async def _create(self, ctx: StepContext, pending: dict[str, Any], typed: str) -> Page | Outcome:
        """A new account from the upstream account's claims, with the username the person chose."""
        username_spec, email_spec = default_fields()
        username, problem = check_field(username_spec, typed)
        if problem is None and await ctx.store.users.find_by_login(username):
            problem = TAKEN_USERNAME
        if problem is not None:
            return self._account_page(ctx, pending, typed[:64], {"username": problem})
        checked, bad_email = check_field(email_spec, str(pending.get("email") or ""))
        email = None if bad_email or not checked else str(checked)
        if email and await ctx.store.users.find_by_login(email):
            # Never linked by address: the person proves the existing account first. Only an
            # address the provider verified (so the person's own) is said to have an account.
            return self._account_page(ctx, pending, username, error=(EMAIL_TAKEN, pending["name"]))
        user = UserRecord(
            id=secrets.token_urlsafe(16), username=username,
            email=email, email_verified=email is not None,
            claims=pending["claims"], created_at=ctx.now,
        )
        upstream = ctx.services.upstreams.get(pending["provider"])
        if upstream is None:
            del ctx.flow_data()[PENDING]
            return self._refused(ctx, FAILED, pending["name"])
        # The upstream account is claimed first: a run that lost the race creates no account.
        if not await self._claim(ctx, pending, user.id):
            return self._refused(ctx, LINKED_ELSEWHERE, pending["name"])
        try:
            await ctx.store.users.add(user)
        except DuplicateError:
            await ctx.store.identities.delete(_identity_id(pending))
            ctx.flow_data()[PENDING] = pending
            return self._account_page(ctx, pending, username, {"username": TAKEN_USERNAME})
        return _signed_in(ctx, user, upstream, pending["asserted"])

    async def _link(self, ctx: StepContext, pending: dict[str, Any], since: float) -> Outcome | Page:
        """Link the pending upstream account to the run's user, who proved their account since
        `since`: with their second factor too when they have one, since the link will sign them
        in without it."""
        user = await ctx.user()
        upstream = ctx.services.upstreams.get(pending["provider"])
        if user is None or upstream is None:
            del ctx.flow_data()[PENDING]
            return self._refused(ctx, FAILED, pending["name"])
        kinds = {c.kind for c in await ctx.store.credentials.for_user(user.id)}
        if kinds & SECOND_FACTORS and not any(
            e.method not in ("fed", "mfa") and e.factor != "knowledge" and e.at >= since
            for e in ctx.run.auth_events
        ):
            del ctx.flow_data()[PENDING]
            if pending.get("linking"):
                ctx.forget()  # that sign-in was made only to link: it proves nothing else
            return self._refused(ctx, SECOND_FACTOR_FIRST, pending["name"])
        if not await self._claim(ctx, pending, user.id):
            return self._refused(ctx, LINKED_ELSEWHERE, pending["name"])
        return _signed_in(ctx, user, upstream, pending["asserted"])

    async def _claim(self, ctx: StepContext, pending: dict[str, Any], user_id: str) -> bool:
        """Record the link of the pending upstream account to `user_id`; False when another
        run linked it meanwhile. The pending account is settled either way."""
        del ctx.flow_data()[PENDING]
        try:
            await ctx.store.identities.add(LinkedIdentityRecord(
                id=_identity_id(pending), provider=pending["provider"],
                upstream_subject=pending["subject"], user_id=user_id, label=pending["who"],
                linked_at=ctx.now, last_used_at=ctx.now,
            ))
        except DuplicateError:
            return False
        await audit(ctx.store, "identity_linked", subject=user_id, client_id=ctx.client.client_id,
                    provider=pending["provider"])
        return True


def _identity_id(pending: dict[str, Any]) -> str:
    return LinkedIdentityRecord.key(pending["provider"], pending["subject"])


def _signed_in(
    ctx: StepContext, user: UserRecord, upstream: Upstream, claims: dict[str, Any]
) -> Outcome:
    """The run is `user`'s, proved by the upstream sign-in, whose claims conditions may read."""
    ctx.identify(user)
    ctx.flow_data()["login"] = user.username
    ctx.flow_data()[UPSTREAM] = {"provider": upstream.id, "claims": claims}
    amr = claims.get("amr")
    record_upstream_proof(
        ctx, [v for v in amr if isinstance(v, str)] if isinstance(amr, list) else [],
        upstream.settings.trust_mfa,
    )
    return Outcome("success")


def _proved_since(ctx: StepContext, at: float) -> bool:
    """A proof of this run's user, other than an upstream sign-in, made at `at` or later."""
    return any(e.method not in ("fed", "mfa") and e.at >= at for e in ctx.run.auth_events)


def record_upstream_proof(ctx: StepContext, amr: list[str], trust_mfa: bool) -> None:
    """`fed`, of the class of the provider's first known method (knowledge when it says none);
    with `trust_mfa`, a multi-factor upstream sign-in counts as a second class too."""
    classes = list(dict.fromkeys(FACTOR_OF[v] for v in amr if v in FACTOR_OF))
    first: Factor = classes[0] if classes else "knowledge"
    ctx.record_authentication("fed", first)
    if trust_mfa and ("mfa" in amr or len(classes) >= 2):
        second: Factor = classes[1] if len(classes) >= 2 else (
            "possession" if first != "possession" else "knowledge"
        )
        ctx.record_authentication("mfa", second)


USERNAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _mapped_claims(upstream: Upstream, claims: dict[str, Any]) -> dict[str, Any]:
    """The user claims the provider's `claims` mapping gives (plain values; not the username or
    email, which are the user record's own fields)."""
    return {
        ours: claims[theirs] for ours, theirs in upstream.settings.claims.items()
        if ours not in ("username", "email") and isinstance(claims.get(theirs), str | int | float | bool)
    }


def _pending(upstream: Upstream, identity: UpstreamIdentity, now: float) -> dict[str, Any]:
    """What the run keeps of a new upstream account while the person decides what to do."""
    claims = identity.claims
    mapping = upstream.settings.claims
    mapped = {ours: claims[theirs] for ours, theirs in mapping.items() if theirs in claims}
    email = mapped.pop("email", None)
    suggested = str(mapped.pop("username", "") or (email or "").partition("@")[0])
    who = next((str(claims[c]) for c in ("email", "preferred_username", "name") if claims.get(c)),
               identity.subject)
    return {
        "provider": upstream.id, "name": upstream.settings.name, "subject": identity.subject,
        "who": who[:200], "at": now, "asserted": claims,
        "username": USERNAME_SAFE.sub("", suggested)[:64],
        # Only an address the provider verified (and we believe it) is kept: an unverified one
        # could squat someone's address here, or ask whether it has an account.
        "email": email if isinstance(email, str) and upstream.settings.trust_email_verified
        and claims.get("email_verified") is True else None,
        "claims": _mapped_claims(upstream, claims),
    }
