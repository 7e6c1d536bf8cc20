"""Completions: how a finished flow run is answered.

A run records how it must finish (`SignInRequest.finish`: a kind, and that kind's own data). The
completion registered under that kind answers once the run has ended: the authorization response
to a client (`oidc.authorize.AuthorizationResponse`), the account page
(`ui.account_sign_in.AccountPage`)... A new way in is an endpoint that starts runs, plus a
completion; the engine and the steps do not change. docs/completions.md shows how to add one.

What every completion shares lives here: consuming the run once, the designed pages for a run
that ended in `error` or without a user, and the SSO session a signed-in run starts or keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

from core import N_, ErrorPage
from observe import audit, count_sign_in
from oidc.browser_history import note_sign_in
from oidc.cookies import CookieJar, set_session_cookie
from oidc.provider import Provider
from oidc.results import Redirect, Result
from oidc.sessions import start_session
from store import FlowRunRecord, SessionRecord, StaleVersionError

log = logging.getLogger("gatehouse.completions")


class Completion(Protocol):
    """Finishes the runs whose `finish.kind` is its `kind`."""

    kind: str

    async def complete(
        self, provider: Provider, run: FlowRunRecord, session: SessionRecord | None
    ) -> Result:
        """Answer for `run`, consumed and ended (`done`, `deny` or `error`). `session` is the
        SSO session the run started on, when it ends in the request that started it."""
        ...

    def start_again(self, run: FlowRunRecord) -> str:
        """Where an expired run's "Start again" leads (a URL on this server)."""
        ...


def by_kind(completions: Iterable[Completion]) -> dict[str, Completion]:
    """The registry the provider dispatches on (`Provider.completions`)."""
    registry: dict[str, Completion] = {}
    for completion in completions:
        if completion.kind in registry:
            raise ValueError(f"two completions of kind {completion.kind!r}")
        registry[completion.kind] = completion
    return registry


def completion_of(completions: Mapping[str, Completion], run: FlowRunRecord) -> Completion:
    """The completion that answers for `run`."""
    completion = completions.get(run.sign_in.finish.kind)
    if completion is None:  # a run started by a way in this server no longer has
        log.error("run %s: no completion of kind %r", run.id, run.sign_in.finish.kind)
        raise ErrorPage(N_("Something went wrong"), N_("Please try again in a moment."), status=500)
    return completion


async def finish_run(
    provider: Provider, run: FlowRunRecord, session: SessionRecord | None = None
) -> Result:
    """Consume a finished run (of two requests racing to finish it, one wins) and let its
    completion answer."""
    completion = completion_of(provider.completions, run)
    try:
        await provider.engine.finish(run)
    except StaleVersionError as exc:
        raise ErrorPage(
            N_("This sign-in is already complete"), N_("Go back to the application."), status=409
        ) from exc
    return await completion.complete(provider, run, session)


def signed_in_subject(run: FlowRunRecord) -> str:
    """The user a run that was not denied signed in; an `ErrorPage` for a run that ended in
    `error`, or that reached `done` without any step proving who the user is."""
    if run.state == "error":
        count_sign_in("error")
        raise ErrorPage(N_("Sign-in cannot continue"), run.message or N_("Please contact support."))
    if run.subject is None or not run.auth_events:
        # A flow reached `done` without any step proving who the user is: a flows.yaml mistake.
        log.error("flow %s reached done without authenticating anyone (run %s)", run.flow, run.id)
        count_sign_in("error")
        raise ErrorPage(N_("Something went wrong"), N_("Please try again in a moment."), status=500)
    return run.subject


async def signed_in_session(
    provider: Provider, run: FlowRunRecord, session: SessionRecord | None, client_id: str
) -> tuple[SessionRecord, str | None]:
    """The SSO session of a signed-in run: `session` itself when the run started on it and
    proved nothing new; otherwise a new one (keeping the sid of a run that added to a session),
    audited as a sign-in. Also the new session's cookie value, to set on the answer."""
    subject = signed_in_subject(run)
    user = await provider.store.users.get(subject)
    if user is not None and user.disabled:
        # An administrator disabled the account while its run went on (its sessions ended then).
        count_sign_in("denied")
        await audit(provider.store, "sign_in_failed", subject=subject, client_id=client_id,
                    reason="disabled", flow=run.flow)
        raise ErrorPage(
            N_("This account is disabled"), N_("Ask your administrator to enable it."), status=403
        )
    if session is not None and subject == session.subject and run.auth_events == session.events:
        return session, None
    cookie_value, new_session = await start_session(
        provider, subject, run.auth_events, run.session_sid
    )
    await audit(
        provider.store, "sign_in", subject=subject, client_id=client_id,
        amr=new_session.amr, acr=new_session.acr, flow=run.flow, sid=new_session.sid,
    )
    return new_session, cookie_value


async def signed_in_redirect(
    provider: Provider, run: FlowRunRecord, session: SessionRecord | None, client_id: str,
    to: str, denied: ErrorPage,
) -> Result:
    """The answer of a run that signs in to a page of Gatehouse's own (the account page, the
    admin console): the `denied` page when the run ended in `deny`; else the SSO session
    started or kept (`signed_in_session`), and the browser sent `to` that page."""
    if run.state == "deny":
        count_sign_in("denied")
        raise denied
    signed_in, cookie_value = await signed_in_session(provider, run, session, client_id)
    response = Redirect(to)
    set_signed_in_cookies(provider, response, signed_in, cookie_value)
    return response


def set_signed_in_cookies(
    provider: Provider, response: CookieJar, session: SessionRecord, cookie_value: str | None
) -> None:
    """For a new session (`cookie_value`): its cookie, and its user noted in the browser's
    signed-in-before cookie."""
    if cookie_value is not None:
        set_session_cookie(provider, response, cookie_value)
        note_sign_in(provider, response, session.subject)
