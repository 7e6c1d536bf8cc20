"""The authorization endpoint (OIDC Core §3.1.2), its resume point, and its completion.

The seam between protocol and flows: authorize maps the request onto a sign-in request and starts
a run of the client's flow (on top of the SSO session when there is a good-enough one, so steps it
proved pass without a page), then sends the browser to its pages, or answers at once when the run
finished without one. The page request that finishes a run answers with the run's completion
(oidc/completions.py; `/authorize/resume` answers the same way for a finished run): for an
authorize request, `AuthorizationResponse` starts the SSO session and sends the client its code.
"""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Blueprint, request, url_for

from core import N_, ErrorPage, whole_seconds
from engine import ACR_VALUES_SUPPORTED, Prompt, Seed, SignInRequest
from observe import count_sign_in
from oidc.authorization_response import ResponseTarget, authorization_response, error_response
from oidc.authorize_request import (
    AUTHORIZATION_RESPONSE,
    CHECKS,
    CHECKS_BEFORE_REDIRECT,
    AuthorizeRequest,
    Params,
    build_request,
    check_client_known,
    error_target,
    one,
    request_params,
    revalidate,
    sign_in_request,
    trusted_client_id,
)
from oidc.completions import finish_run, set_signed_in_cookies, signed_in_session, signed_in_subject
from oidc.cookies import (
    browser_binding,
    set_browser_cookie,
)
from oidc.devices import browser_facts
from oidc.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    InteractionRequiredError,
    InvalidRequestError,
    LoginRequiredError,
    OAuth2Error,
    ServerError,
    printable,
)
from oidc.grants import issue_code
from oidc.id_token_hint import hinted_subject
from oidc.profiles import check_authorization_request
from oidc.provider import Provider, current_provider
from oidc.pushed_requests import pushed_params, requires_pushed_requests
from oidc.request_objects import request_object_params
from oidc.results import PageResult, Redirect, Result, answering
from oidc.run_access import browser_run
from oidc.sessions import current_session
from store import ClientRecord, FlowRunRecord, SessionRecord, missing_consent

blueprint = Blueprint("authorize", __name__)


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
    pushed = await pushed_params(provider, client, params)
    if pushed is not None:
        params = pushed  # a request object among them was unpacked when it was pushed
    else:
        try:
            signed = await request_object_params(provider, client, params)
        except OAuth2Error as error:
            return await _refuse_unread(provider, client, params, error)
        params = signed if signed is not None else params
    for check in CHECKS_BEFORE_REDIRECT:
        check(params, client)
    target = error_target(params)
    try:
        if pushed is None and requires_pushed_requests(provider, client):
            raise InvalidRequestError("this client must push its authorization requests (PAR)")
        for check in CHECKS:
            check(params, client)
        check_authorization_request(provider, client, params)
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
        return await start_run(provider, client, sign_in_request(auth_request))
    except OAuth2Error as error:
        return await error_response(provider, target, error)


async def _refuse_unread(
    provider: Provider, client: ClientRecord, params: Params, error: OAuth2Error
) -> Result:
    """A request whose request object did not pass: the error goes to the redirect URI outside
    the object when that one is registered, else it is shown as a page."""
    for check in CHECKS_BEFORE_REDIRECT:
        check(params, client)
    return await error_response(provider, error_target(params), error)


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
    return await start_run(provider, client, sign_in_request(req), session)


async def start_run(
    provider: Provider, client: ClientRecord, sign_in: SignInRequest,
    session: SessionRecord | None = None, flow_name: str | None = None, seed: Seed | None = None,
) -> Result:
    """Start the client's flow (or `flow_name`) on `session` (or on `seed`, for a person whose
    account something other than a session proved), then show its page, or let the run's
    completion answer at once."""
    engine = provider.engine
    _count_run_start(provider)
    if session is not None:
        seed = Seed(session.subject, session.events, session.sid)
    browser_hash, new_cookie = browser_binding(provider, request)
    run = await engine.start(
        client, sign_in, browser_hash, seed, browser_facts(), flow_name=flow_name
    )
    if engine.is_finished(run):
        response = await finish_run(provider, run, session)
    elif Prompt.NONE in sign_in.prompt:
        await engine.finish(run)
        raise InteractionRequiredError()  # OIDC Core §3.1.2.6: a page would be needed
    else:
        response = Redirect(url_for("flow.show", run_id=run.id))
    if new_cookie:
        set_browser_cookie(provider, response, new_cookie)
    return response


TOO_MANY_RUNS = N_("Too many sign-ins were begun from your network. Try again in a minute.")


def _count_run_start(provider: Provider) -> None:
    """Each run is stored for its lifetime whether or not anyone goes on with it, so one network
    may begin only so many a minute (settings.runs_per_minute_per_address); past it, a 429
    page (RFC 6585 §4) that stores nothing."""
    wait = provider.run_starts.take(request.remote_addr, provider.clock())
    if wait:
        again = (request.full_path, N_("Try again")) if request.method == "GET" else None
        raise ErrorPage(
            N_("Please wait a moment"), TOO_MANY_RUNS, 429, again, whole_seconds(wait)
        )


@blueprint.route("/authorize/resume")
@answering
async def resume() -> Result:
    """A finished run's completion answers (for a browser sent here; the request that
    finishes a run answers the same way itself)."""
    provider, engine = current_provider(), current_provider().engine
    run = await browser_run(provider, request.args.get("run", ""))
    if not engine.is_finished(run):
        return Redirect(url_for("flow.show", run_id=run.id))
    return await finish_run(provider, run)


async def _run_error(
    provider: Provider, client: ClientRecord, target: ResponseTarget, run: FlowRunRecord
) -> PageResult:
    """A run that ended in `error`: the person reads why, and goes back to the application
    with `server_error` (RFC 6749 §4.1.2.1) and its `state`, so that the client is answered."""
    count_sign_in("error")
    message = run.message or N_("Please contact support.")
    back = await error_response(provider, target, ServerError(printable(message, 200)))
    return PageResult("run_error.html", {
        "title": N_("Sign-in cannot continue"), "message": message, "back": back,
        "client": client,
    }, status=400)


class AuthorizationResponse:
    """The completion of an authorize request: the client gets an error, or a code in a
    session (the one the run started on when it proved nothing new, else a new one), at its
    redirect URI (RFC 6749 §4.1.2), by redirect or form post."""

    kind = AUTHORIZATION_RESPONSE

    async def complete(
        self, provider: Provider, run: FlowRunRecord, session: SessionRecord | None
    ) -> Result:
        stored = AuthorizeRequest.model_validate(run.sign_in.finish.data)
        client = await provider.store.clients.get(run.sign_in.client_id)
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
            return await _run_error(provider, client, auth_request.target, run)
        signed_in_subject(run)  # an error page for a run that reached done with nobody
        try:
            auth_request = await _with_consent(provider, client, auth_request, run)
        except OAuth2Error as error:
            return await error_response(provider, auth_request.target, error)
        signed_in, cookie_value = await signed_in_session(provider, run, session, client.client_id)
        response = await _issue_code(provider, client, auth_request, signed_in)
        set_signed_in_cookies(provider, response, signed_in, cookie_value)
        return response

    def start_again(self, run: FlowRunRecord) -> str:
        """The original authorize request, sent again."""
        stored = AuthorizeRequest.model_validate(run.sign_in.finish.data)
        return url_for("authorize.authorize") + "?" + urlencode(request_params(stored), doseq=True)


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
