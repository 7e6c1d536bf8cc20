"""How the account page signs people in and runs its actions: flow runs started here, whose
completion (`AccountPage`) starts or keeps the SSO session as any sign-in does and brings the
browser back to the page.

Signing in to the page runs the flow chosen for its client record, `gatehouse-account`, as for
any client; its actions (add a passkey, ...) run the flows `account_flows` names, on the SSO
session. The record is data for flow selection, conditions and the pages' branding: it has no
redirect URI, response type or grant type, so `/authorize` and `/token` refuse its id.
"""

from __future__ import annotations

from pydantic import BaseModel
from quart import Response, url_for

from core import N_, ErrorPage
from engine import ACR_BY_FACTORS, Finish, Prompt, Seed, SignInRequest
from oidc import (
    Provider,
    Result,
    current_provider,
    signed_in_redirect,
    start_run,
)
from store import ClientRecord, FlowRunRecord, SessionRecord
from ui.results import respond

CLIENT_ID = "gatehouse-account"
ACCOUNT = "account"  # the kind of completion of the page's runs
RESET_PASSWORD = "reset-password"  # the "action" of a run that a password-reset link started


def account_client() -> ClientRecord:
    """The account page's client record: what flows and pages know of it, and no more."""
    return ClientRecord(
        client_id=CLIENT_ID, client_name="Your account", token_endpoint_auth_method="none",
        redirect_uris=[], grant_types=[], response_types=[], scope="openid", source="builtin",
    )


class AccountFinish(BaseModel):
    """What the page's completion keeps in a run: the action it is for (None: a sign-in)."""

    action: str | None = None


def _finish(run: FlowRunRecord) -> AccountFinish:
    return AccountFinish.model_validate(run.sign_in.finish.data)


def _sign_in_request(
    action: str | None = None, again_as: str | None = None, two_factors: bool = False
) -> SignInRequest:
    """`again_as` (a username) asks that user to prove it is them now (OIDC Core `prompt=login`),
    with two factors (the acr that `acr_flows` maps to step-up) when `two_factors`."""
    return SignInRequest(
        client_id=CLIENT_ID,
        scopes=["openid"],
        prompt={Prompt.LOGIN} if again_as else set(),
        login_hint=again_as or None,
        acr_values=[ACR_BY_FACTORS[2]] if two_factors else [],
        finish=Finish(kind=ACCOUNT, data=AccountFinish(action=action).model_dump()),
    )


async def _client(provider: Provider) -> ClientRecord:
    client = await provider.store.clients.get(CLIENT_ID)
    if client is None:
        raise ErrorPage(N_("Unknown application"), N_("Go back to the application."), status=410)
    return client


async def sign_in(again_as: str | None = None, two_factors: bool = False) -> Response:
    """A run that signs in to the page (see `_sign_in_request`)."""
    provider = current_provider()
    sign_in = _sign_in_request(again_as=again_as, two_factors=two_factors)
    return await respond(await start_run(provider, await _client(provider), sign_in))


async def start_action(session: SessionRecord, action: str, flow: str) -> Response:
    """Run `flow` for a signed-in user (its steps see the session's proofs), then come back."""
    provider = current_provider()
    sign_in = _sign_in_request(action)
    return await respond(
        await start_run(provider, await _client(provider), sign_in, session, flow)
    )


async def start_reset(subject: str, flow: str) -> Response:
    """Run `flow` on the account of `subject`, whom a password-reset link proved (no session,
    no proof yet: the flow asks for what signing in needs), then come back to the page."""
    provider = current_provider()
    sign_in = _sign_in_request(RESET_PASSWORD)
    seed = Seed(subject, [])
    return await respond(
        await start_run(provider, await _client(provider), sign_in, flow_name=flow, seed=seed)
    )


def is_account_action(run: FlowRunRecord) -> bool:
    """Whether `run` is one of the account page's actions (not a sign-in to the page): its
    pages belong to the account, whose user is signed in already."""
    return run.sign_in.finish.kind == ACCOUNT and _finish(run).action is not None


class AccountPage:
    """The completion of the page's runs: the SSO session is started (or kept) as for any
    sign-in, then the browser goes back to the page, which says what an action changed."""

    kind = ACCOUNT

    async def complete(
        self, provider: Provider, run: FlowRunRecord, session: SessionRecord | None
    ) -> Result:
        action = _finish(run).action
        page = url_for("account.page", done=action) if action else url_for("account.page")
        denied = ErrorPage(
            N_("Sign-in cannot continue"), N_("Go back to your account and try again."),
            status=400, link=(url_for("account.page"), N_("Your account")),
        )
        return await signed_in_redirect(provider, run, session, CLIENT_ID, page, denied)

    def start_again(self, run: FlowRunRecord) -> str:
        return url_for("account.page")
