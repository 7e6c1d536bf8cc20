"""The authorization endpoint (OIDC Core §3.1.2) and its resume point.

The seam between protocol and flows: authorize starts a run of the client's flow (on top of the
SSO session when there is a good-enough one, so steps it proved pass without a page) and sends
the browser to its pages, or answers at once when the run finished without one; a run finished
later sends the browser to `/authorize/resume`, which starts the SSO session and answers.
"""

from __future__ import annotations

import logging

from quart import Blueprint, request, url_for

from core import N_, ErrorPage
from engine.assurance import ACR_VALUES_SUPPORTED
from engine.runs import Seed
from observe.audit import audit
from observe.metrics import count_sign_in
from oidc.authorization_response import authorization_response, error_response
from oidc.authorize_request import (
    CHECKS,
    CHECKS_BEFORE_REDIRECT,
    AuthorizeRequest,
    Params,
    build_request,
    check_client_known,
    error_target,
    one,
    revalidate,
    trusted_client_id,
)
from oidc.cookies import (
    browser_binding,
    set_browser_cookie,
    set_session_cookie,
)
from oidc.devices import browser_facts
from oidc.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
    OAuth2Error,
    printable,
)
from oidc.grants import issue_code
from oidc.id_token_hint import hinted_subject
from oidc.provider import Provider, current_provider
from oidc.results import Redirect, Result, answering
from oidc.run_access import browser_run
from oidc.sessions import current_session, start_session
from store.consents import missing_consent
from store.errors import StaleVersionError
from store.records import ClientRecord, FlowRunRecord, SessionRecord

blueprint = Blueprint("authorize", __name__)
log = logging.getLogger("gatehouse.authorize")


async def _params() -> Params:
    # OIDC Core §3.1.2.1: the endpoint MUST support GET and POST (form-serialized).
    source = (await request.form) if request.method == "POST" else request.args
    return {name: source.getlist(name) for name in source}


@blueprint.route("/authorize", methods=["GET", "POST"])
@answering
async def authorize() -> Result:
    provider = current_provider()
    params = await _params()
    client = await provider.store.clients.get(trusted_client_id(params))
    check_client_known(params, client)
    assert client is not None
    for check in CHECKS_BEFORE_REDIRECT:
        check(params, client)
    target = error_target(params)
    try:
        for check in CHECKS:
            check(params, client)
        auth_request = build_request(params, client)
        hinted = hinted_subject(provider, one(params, "id_token_hint"))
        session = await current_session(provider)
        if hinted is not None and session is not None and session.subject != hinted:
            session = None  # the client expects another user than the one signed in here
        if session is not None and _session_fresh(provider, auth_request, session):
            return await _answer_with_session(provider, client, auth_request, session)
        if "none" in auth_request.prompt:
            raise LoginRequiredError()
        if hinted is not None and session is not None and auth_request.login_hint is None:
            # Only for the user signed in on this browser: a hint is readable by whoever holds
            # it, and its sub must not tell any other browser the account's username.
            user = await provider.store.users.get(hinted)
            auth_request.login_hint = user.username if user else None
        return await start_run(provider, client, auth_request)
    except OAuth2Error as error:
        return await error_response(provider, target, error)


def _session_fresh(provider: Provider, req: AuthorizeRequest, session: SessionRecord) -> bool:
    """Whether the SSO session may stand for the user (OIDC Core §3.1.2.1 prompt, max_age)."""
    if {"login", "select_account", "create"} & set(req.prompt):
        # Without an account chooser, signing in again is how a person picks another account.
        return False
    return req.max_age is None or provider.clock() - session.auth_time <= req.max_age


def _below_requested_acr(req: AuthorizeRequest, session: SessionRecord) -> bool:
    """The session reached none of the requested levels we know (acr_values are in order of
    preference; OIDC Core §3.1.2.1), so a step-up run must add what is missing."""
    levels = [ACR_VALUES_SUPPORTED.index(a) for a in req.acr_values if a in ACR_VALUES_SUPPORTED]
    reached = ACR_VALUES_SUPPORTED.index(session.acr) if session.acr in ACR_VALUES_SUPPORTED else -1
    return bool(levels) and min(levels) > reached


async def _answer_with_session(
    provider: Provider, client: ClientRecord, req: AuthorizeRequest, session: SessionRecord
) -> Result:
    """Answer from the SSO session through the client's flow, run on top of it: steps whose
    proof the session holds pass without a page, so usually the code goes back at once; a
    required action (terms, a second factor the client requires, a higher acr, consent) shows."""
    if "none" in req.prompt:
        if _below_requested_acr(req, session):
            raise InteractionRequiredError()
        if "consent" in req.prompt or await missing_consent(
            provider.store, client, session.subject, req.scopes, req.claims
        ):
            raise ConsentRequiredError()
    return await start_run(provider, client, req, session)


async def start_run(
    provider: Provider, client: ClientRecord, req: AuthorizeRequest,
    session: SessionRecord | None = None, flow_name: str | None = None,
) -> Result:
    """Start the client's flow (or `flow_name`) on `session`, then show its page or answer at
    once."""
    engine = provider.engine
    seed = Seed(session.subject, session.events, session.sid) if session else None
    browser_hash, new_cookie = browser_binding(provider, request)
    run = await engine.start(
        client, req.model_dump(), browser_hash, seed, browser_facts(), flow_name=flow_name
    )
    if engine.is_finished(run):
        response = await _complete(provider, run, session)
    elif "none" in req.prompt:
        await engine.finish(run)
        raise InteractionRequiredError()  # OIDC Core §3.1.2.6: a page would be needed
    else:
        response = Redirect(url_for("flow.show", run_id=run.id))
    if new_cookie:
        set_browser_cookie(provider, response, new_cookie)
    return response


@blueprint.route("/authorize/resume")
@answering
async def resume() -> Result:
    """Where a run sends the browser when it reaches a terminal state."""
    provider, engine = current_provider(), current_provider().engine
    run = await browser_run(provider, request.args.get("run", ""))
    if not engine.is_finished(run):
        return Redirect(url_for("flow.show", run_id=run.id))
    return await _complete(provider, run)


async def _complete(
    provider: Provider, run: FlowRunRecord, session: SessionRecord | None = None
) -> Result:
    """Consume a finished run and answer the client: an error, or a code in a session (the one
    the run started on when it proved nothing new, else a new one)."""
    try:
        await provider.engine.finish(run)
    except StaleVersionError as exc:
        raise ErrorPage(
            N_("This sign-in is already complete"), N_("Go back to the application."), status=409
        ) from exc
    stored = AuthorizeRequest.model_validate(run.request)
    client = await provider.store.clients.get(run.client_id)
    check_client_known({}, client)
    assert client is not None
    try:
        auth_request = revalidate(stored, client)  # ErrorPage if the redirect URI is gone
    except OAuth2Error as error:
        return await error_response(provider, stored.target, error)
    if run.state == "deny":
        count_sign_in("denied")
        denied = AccessDeniedError(run.message and printable(run.message, 200))
        return await error_response(provider, auth_request.target, denied)
    if run.state == "error":
        count_sign_in("error")
        raise ErrorPage(N_("Sign-in cannot continue"), run.message or N_("Please contact support."))
    if run.subject is None or not run.auth_events:
        # A flow reached `done` without any step proving who the user is: a flows.yaml mistake.
        log.error("flow %s reached done without authenticating anyone (run %s)", run.flow, run.id)
        count_sign_in("error")
        raise ErrorPage(N_("Something went wrong"), N_("Please try again in a moment."), status=500)
    try:
        auth_request = await _with_consent(provider, client, auth_request, run)
    except OAuth2Error as error:
        return await error_response(provider, auth_request.target, error)
    if session is not None and run.subject == session.subject and run.auth_events == session.events:
        return await _issue_code(provider, client, auth_request, session)
    cookie_value, new_session = await start_session(
        provider, run.subject, run.auth_events, run.session_sid
    )
    await audit(
        provider.store, "sign_in", subject=run.subject, client_id=client.client_id,
        amr=new_session.amr, acr=new_session.acr, flow=run.flow, sid=new_session.sid,
    )
    response = await _issue_code(provider, client, auth_request, new_session)
    set_session_cookie(provider, response, cookie_value)
    return response


async def _with_consent(
    provider: Provider, client: ClientRecord, req: AuthorizeRequest, run: FlowRunRecord
) -> AuthorizeRequest:
    """The request as the user's consent allows it. Without consent, `offline_access` is
    dropped (OIDC Core §11) and a client that requires consent gets consent_required."""
    assert run.subject is not None
    given = run.scratch.get("_flow", {}).get("consented")
    if "consent" in req.prompt and given is None:
        raise ConsentRequiredError()  # the flow has no consent step to honour prompt=consent
    missing = await missing_consent(
        provider.store, client, run.subject, req.scopes, req.claims, given
    )
    if not missing:
        return req
    if client.require_consent:
        raise ConsentRequiredError()
    kept = [scope for scope in req.scopes if scope != "offline_access"]
    return req.model_copy(update={"scope": " ".join(kept)})


async def _issue_code(
    provider: Provider, client: ClientRecord, req: AuthorizeRequest, session: SessionRecord
) -> Result:
    code = await issue_code(provider, client, req, session)
    return await authorization_response(provider, req.target, {"code": code})
