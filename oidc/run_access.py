"""Finding the flow run a request names: only for the browser that started it, and with a way to
start again when it has expired (where to, the run's completion says)."""

from __future__ import annotations

from quart import request

from core import N_, ErrorPage, same_secret
from oidc.completions import completion_of
from oidc.cookies import browser_binding
from oidc.provider import Provider
from store import FlowRunRecord

EXPIRED = N_("This sign-in has expired")


async def browser_run(provider: Provider, run_id: str) -> FlowRunRecord:
    """The run `run_id` of this browser, able to go on; otherwise an `ErrorPage` (410)."""
    run = await provider.engine.load(run_id) if 0 < len(run_id) <= 100 else None
    browser_hash, _ = browser_binding(provider, request)
    if run is None or not same_secret(run.browser_hash, browser_hash):
        raise ErrorPage(
            EXPIRED,
            N_("Sign-in links are valid for a limited time. Go back to the application and sign in again."),
            status=410,
        )
    if not provider.engine.can_go_on(run):
        again = completion_of(provider.completions, run).start_again(run)
        raise ErrorPage(
            EXPIRED,
            N_("Sign-in pages are valid for a limited time. Start again to continue to the application."),
            status=410,
            link=(again, N_("Start again")),
        )
    return run
