"""How the admin console signs operators in: a flow run for the console's own client record
(`gatehouse-admin`), asking for two factors (`acr_values` at loa:2, which `acr_flows` maps to
the step-up flow), whose completion (`ConsolePage`) starts or keeps the SSO session as any
sign-in does and brings the browser back to the console page it came from.

The record is data for flow selection, conditions and the pages' branding: it has no redirect
URI, response type or grant type, so `/authorize` and `/token` refuse its id.
"""

from __future__ import annotations

from pydantic import BaseModel
from quart import Response, url_for

from admin.actors import CONSOLE
from core import N_, ErrorPage
from engine import ACR_BY_FACTORS, Finish, Prompt, SignInRequest
from oidc import (
    Provider,
    Result,
    current_provider,
    signed_in_redirect,
    start_run,
)
from store import ClientRecord, FlowRunRecord, SessionRecord
from ui import respond

KIND = "admin"  # the kind of completion of the console's runs
TWO_FACTORS = ACR_BY_FACTORS[2]
HOME = "/admin"


def console_client() -> ClientRecord:
    """The console's client record: what flows and pages know of it, and no more."""
    return ClientRecord(
        client_id=CONSOLE, client_name="Gatehouse administration",
        token_endpoint_auth_method="none", redirect_uris=[], grant_types=[], response_types=[],
        scope="openid", source="builtin",
    )


class ConsoleFinish(BaseModel):
    """What the console's completion keeps in a run: the console page to come back to."""

    back: str = HOME


def _back(path: str) -> str:
    """`path` when it is a console page (never another site: no open redirect), else home."""
    is_console = path == HOME or path.startswith(HOME + "/")
    return path if is_console and "//" not in path and "\\" not in path else HOME


async def sign_in(
    back: str, session: SessionRecord | None = None, again_as: str | None = None
) -> Response:
    """A run that signs in to the console with two factors, then returns to `back`: on
    `session`, only the missing factors are asked; `again_as` (a username) asks that user to
    prove both again (OIDC Core `prompt=login`), for a change that needs a recent sign-in."""
    provider = current_provider()
    client = await provider.store.clients.get(CONSOLE)
    if client is None:
        raise ErrorPage(N_("Unknown application"), N_("Go back to the application."), status=410)
    request = SignInRequest(
        client_id=CONSOLE,
        scopes=["openid"],
        prompt={Prompt.LOGIN} if again_as else set(),
        login_hint=again_as,
        acr_values=[TWO_FACTORS],
        finish=Finish(kind=KIND, data=ConsoleFinish(back=_back(back)).model_dump()),
    )
    on = None if again_as else session
    return await respond(await start_run(provider, client, request, on))


class ConsolePage:
    """The completion of the console's runs: the SSO session is started (or kept) as for any
    sign-in, then the browser goes back to the console page it came from."""

    kind = KIND

    async def complete(
        self, provider: Provider, run: FlowRunRecord, session: SessionRecord | None
    ) -> Result:
        back = _back(ConsoleFinish.model_validate(run.sign_in.finish.data).back)
        denied = ErrorPage(
            N_("Sign-in cannot continue"), N_("Go back to the console and try again."),
            status=400, link=(HOME, N_("Administration")),
        )
        return await signed_in_redirect(provider, run, session, CONSOLE, back, denied)

    def start_again(self, run: FlowRunRecord) -> str:
        return url_for("admin_users.home")
