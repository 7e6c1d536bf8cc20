"""`/flow/<run_id>`: GET shows the run's current step, POST hands the step its form.

After a POST that moves the run on, the browser is redirected (post/redirect/get), so reloading
or the Back button shows the current step instead of resubmitting. The request that finishes the
run answers with its completion at once (the client's code, say), as `/authorize/resume` would a
request later: a sign-in takes one round trip less.
"""

from __future__ import annotations

import contextlib

from jinja2 import TemplateError
from quart import Blueprint, Response, request, url_for

from core import N_, ErrorPage, same_secret
from oidc import (
    browser_facts,
    browser_run,
    current_provider,
    finish_run,
    remember_device,
    see_other,
    signed_in_browser_facts,
)
from steps import VIA, Page, Redirect, run_id_of
from store import ClientRecord, FlowRunRecord, StaleVersionError
from ui.account_sign_in import is_account_action
from ui.pages import render_page
from ui.results import respond

blueprint = Blueprint("flow", __name__)

MAX_FIELDS = 50


async def _load(run_id: str) -> tuple[FlowRunRecord, ClientRecord]:
    provider = current_provider()
    run = await browser_run(provider, run_id)
    client = await provider.store.clients.get(run.sign_in.client_id)
    if client is None:
        raise ErrorPage(N_("Unknown application"), N_("Go back to the application."), status=410)
    return run, client


async def _next(run: FlowRunRecord) -> Response:
    """Where the browser goes after a request that moved `run` on: its next page, or the answer
    of its completion when it has finished."""
    provider = current_provider()
    if provider.engine.is_finished(run):
        response = await respond(await finish_run(provider, run))
    else:
        response = see_other(url_for("flow.show", run_id=run.id))
    if run.remember_device is not None:
        remember_device(response, run.remember_device)
    return response


async def _show(run: FlowRunRecord, client: ClientRecord, page: Page) -> Response:
    """The step's page; a page that cannot be rendered (a custom step's template missing or
    broken) ends the run in `error`, whose completion answers the client."""
    try:
        return await render_step_page(run, client, page)
    except TemplateError as exc:
        engine = current_provider().engine
        engine.fail(run, f"its page {page.template!r} cannot be rendered: {exc!r}", exc)
        with contextlib.suppress(StaleVersionError):  # else another request moved it first
            await engine.store.runs.save(run)
        return see_other(url_for("flow.show", run_id=run.id))


async def render_step_page(run: FlowRunRecord, client: ClientRecord, page: Page) -> Response:
    """A step's page as the browser gets it (ui.testing's FlowTester renders it the same way)."""
    # The account page's own journeys: the person is signed in already, so no "Not you?".
    account_action = is_account_action(run)
    return await render_page(
        page.template,
        client=client,
        ui_locales=" ".join(run.sign_in.ui_locales) or None,
        values=page.values,
        errors=page.errors,
        step=page.step,
        actions=page.actions,
        identified_as=None if account_action else page.identified_as,
        account_action=account_action,
        step_notice=page.notice,
        csrf_token=run.csrf_token,
        action=url_for("flow.submit", run_id=run.id),
    )


@blueprint.get("/flow/<run_id>")
async def show(run_id: str) -> Response:
    run, client = await _load(run_id)
    try:
        page = await current_provider().engine.show(run, client, browser_facts())
    except StaleVersionError:
        return see_other(url_for("flow.show", run_id=run.id))
    if page is None:
        return await _next(run)
    return await _show(run, client, page)


@blueprint.post("/flow/<run_id>")
async def submit(run_id: str) -> Response:
    run, client = await _load(run_id)
    engine = current_provider().engine
    form = await request.form
    if len(form) > MAX_FIELDS:
        raise ErrorPage(N_("Request too large"), N_("Go back and try again."), status=413)
    if not same_secret(form.get("csrf_token", ""), run.csrf_token):
        raise ErrorPage(
            N_("This form has expired"), N_("Go back, reload the page and try again."), status=400
        )
    try:
        fields = {k: form.get(k, "") for k in form}
        page = await engine.submit(run, client, fields, await signed_in_browser_facts())
    except StaleVersionError:
        # Another request (a double submit) moved the run first: show where it is now.
        return see_other(url_for("flow.show", run_id=run.id))
    if isinstance(page, Redirect):
        return see_other(page.url)  # to an upstream provider the config names
    if page is not None:
        return await _show(run, client, page)
    return await _next(run)


@blueprint.get("/federation/<provider_id>/callback")
async def upstream_callback(provider_id: str) -> Response:
    """An upstream provider's authorization response: its `state` names the run (of this
    browser only) and holds the secret the run's step checks."""
    run, client = await _load(run_id_of(request.args.get("state", "")))
    if len(request.args) > MAX_FIELDS:
        raise ErrorPage(N_("Request too large"), N_("Go back and try again."), status=413)
    params = {key: request.args.get(key, "") for key in request.args}
    params[VIA] = provider_id
    try:
        await current_provider().engine.come_back(run, client, params, browser_facts())
    except StaleVersionError:  # the same response, delivered twice: the first one counts
        return see_other(url_for("flow.show", run_id=run.id))
    return await _next(run)
