"""The account page: a signed-in user sees and manages their passkeys, authenticator app,
recovery codes, password, remembered browsers and the sessions they are signed in with.

Every change needs a recent sign-in (`account_reauth_seconds`) that proved the second factor when
the user has one; otherwise they are asked to sign in again first (with both factors). Adding
things runs the flows `account_flows` names in flows.yaml, with the same steps as sign-in;
removing things happens here. Ending sessions (this browser's "Sign out", another one's, or all)
needs no recent sign-in: someone who fears their account is used elsewhere must be able to end it
at once. Forms carry a CSRF token bound to the session.
"""

from __future__ import annotations

from quart import Blueprint, Response, request, url_for

from core import N_, ErrorPage, describe_device
from observe import audit
from oidc import (
    SESSION,
    Provider,
    clear_cookie,
    current_provider,
    current_session,
    end_server_side,
    end_session,
    see_other,
)
from steps import KIND as RECOVERY_CODES
from store import CredentialRecord, SessionRecord, UserRecord
from ui.account_sign_in import CLIENT_ID, sign_in, start_action
from ui.form_tokens import check_form_token, form_token
from ui.pages import render_page

blueprint = Blueprint("account", __name__)

SECOND_FACTORS = frozenset({"totp", "webauthn"})
SIGNED_OUT = "account/signed_out.html"  # with a way back in, unlike the logout endpoint's

NOTICES = {
    "add-passkey": N_("Your passkey was added."),
    "set-up-totp": N_("Your authenticator app is set up."),
    "new-recovery-codes": N_("You have new recovery codes. The old ones no longer work."),
    "change-password": N_("Your password was changed."),
    "reset-password": N_("Your password was changed."),
    "passkey-removed": N_("The passkey was removed."),
    "totp-removed": N_("The authenticator app was removed."),
    "browsers-forgotten": N_("Remembered browsers will ask for a second factor again."),
    "session-ended": N_("That session was signed out."),
    "link-account": N_("The account was linked."),
    "identity-unlinked": N_("The account was unlinked. It no longer signs you in here."),
    "only-way-in": N_("That is the only way you can sign in: add a passkey or a password first."),
}


def _csrf(provider: Provider, session: SessionRecord) -> str:
    return form_token(provider, session, "account")


def _two_factor(credentials: list[CredentialRecord]) -> bool:
    return any(c.kind in SECOND_FACTORS for c in credentials)


def _may_change(provider: Provider, session: SessionRecord, two_factor: bool) -> bool:
    """Signed in recently, with the second factor when the user has one (a password alone,
    or a remembered browser, must not be enough to replace the factors themselves)."""
    if provider.clock() - session.auth_time > provider.account_reauth_seconds:
        return False
    return not two_factor or any(event.factor != "knowledge" for event in session.events)


async def _sign_in_again(provider: Provider, user: UserRecord) -> Response:
    credentials = await provider.store.credentials.for_user(user.id)
    return await sign_in(user.username, two_factors=_two_factor(credentials))


async def _signed_in(provider: Provider) -> tuple[SessionRecord, UserRecord] | None:
    session = await current_session(provider)
    user = await provider.store.users.get(session.subject) if session else None
    return (session, user) if session and user else None


@blueprint.get("/account")
async def page() -> Response:
    provider = current_provider()
    signed_in = await _signed_in(provider)
    if signed_in is None:
        return await sign_in()
    session, user = signed_in
    credentials = await provider.store.credentials.for_user(user.id)
    return await render_page(
        "account/index.html",
        user=user,
        passkeys=[c for c in credentials if c.kind == "webauthn"],
        totp=next((c for c in credentials if c.kind == "totp"), None),
        recovery_codes=sum(c.kind == RECOVERY_CODES for c in credentials),
        identities=[
            (identity, _upstream_name(provider, identity.provider))
            for identity in await provider.store.identities.for_user(user.id)
        ],
        actions=set(provider.engine.flows.spec.account_flows),
        recent=_may_change(provider, session, _two_factor(credentials)),
        notice=NOTICES.get(request.args.get("done", "")),
        csrf_token=_csrf(provider, session),
        sessions=[
            (other, describe_device(other.user_agent), other.sid == session.sid)
            for other in await provider.store.sessions.for_subject(user.id, provider.clock())
        ],
        ui_locales=None,
    )


@blueprint.get("/account/sign-in-again")
async def sign_in_again() -> Response:
    provider = current_provider()
    signed_in = await _signed_in(provider)
    return await _sign_in_again(provider, signed_in[1]) if signed_in else await sign_in()


async def _posted(provider: Provider) -> tuple[SessionRecord, UserRecord] | Response:
    """The signed-in user who posted a form of the account page; a response when nobody is."""
    signed_in = await _signed_in(provider)
    if signed_in is None:
        return await sign_in()
    form = await request.form
    check_form_token(provider, signed_in[0], "account", form.get("csrf_token"))
    return signed_in


async def _change(provider: Provider) -> tuple[SessionRecord, UserRecord] | Response:
    """The signed-in user, for a form that changes their account; a response when it may not."""
    signed_in = await _posted(provider)
    if isinstance(signed_in, Response):
        return signed_in
    session, user = signed_in
    two_factor = _two_factor(await provider.store.credentials.for_user(user.id))
    if not _may_change(provider, session, two_factor):
        return await sign_in(user.username, two_factors=two_factor)
    return signed_in


@blueprint.post("/account/actions/<action>")
async def run_action(action: str) -> Response:
    provider = current_provider()
    flows = provider.engine.flows.spec.account_flows
    flow = next((name for key, name in flows.items() if key == action), None)
    if flow is None:
        raise ErrorPage(N_("Page not found"), N_("Check the address, or go back and try again."),
                        status=404)
    checked = await _change(provider)
    if isinstance(checked, Response):
        return checked
    return await start_action(checked[0], action, flow)


async def _remove(kind: str, credential_id: str, done: str) -> Response:
    provider = current_provider()
    checked = await _change(provider)
    if isinstance(checked, Response):
        return checked
    _, user = checked
    credential: CredentialRecord | None = await provider.store.credentials.get(credential_id)
    if credential is None or credential.user_id != user.id or credential.kind != kind:
        raise ErrorPage(N_("Page not found"), N_("Check the address, or go back and try again."),
                        status=404)
    await provider.store.credentials.delete(credential.id)
    await audit(
        provider.store, "mfa_changed", subject=user.id, client_id=CLIENT_ID, change="removed",
        method=credential.kind, credential_id=credential.id, name=credential.name,
    )
    # A browser remembered to skip the removed factor should not skip its replacement.
    user.devices_forgotten_at = provider.clock()
    await provider.store.users.update(user)
    return see_other(url_for("account.page", done=done))


@blueprint.post("/account/passkeys/<path:credential_id>/remove")
async def remove_passkey(credential_id: str) -> Response:
    return await _remove("webauthn", credential_id, "passkey-removed")


@blueprint.post("/account/totp/<credential_id>/remove")
async def remove_totp(credential_id: str) -> Response:
    return await _remove("totp", credential_id, "totp-removed")


def _upstream_name(provider: Provider, upstream_id: str) -> str:
    upstream = provider.engine.services.upstreams.get(upstream_id)
    return upstream.settings.name if upstream else upstream_id


@blueprint.post("/account/identities/<path:identity_id>/unlink")
async def unlink_identity(identity_id: str) -> Response:
    provider = current_provider()
    checked = await _change(provider)
    if isinstance(checked, Response):
        return checked
    _, user = checked
    identities = await provider.store.identities.for_user(user.id)
    unlinking = next((i for i in identities if i.id == identity_id), None)
    if unlinking is None:
        raise ErrorPage(N_("Page not found"), N_("Check the address, or go back and try again."),
                        status=404)
    credentials = await provider.store.credentials.for_user(user.id)
    signs_in_otherwise = user.password_hash is not None or user.in_directory
    if len(identities) == 1 and not signs_in_otherwise and not any(
        c.kind == "webauthn" for c in credentials
    ):
        return see_other(url_for("account.page", done="only-way-in"))
    await provider.store.identities.delete(unlinking.id)
    await audit(provider.store, "identity_unlinked", subject=user.id, client_id=CLIENT_ID,
                provider=unlinking.provider)
    return see_other(url_for("account.page", done="identity-unlinked"))


@blueprint.post("/account/forget-browsers")
async def forget_browsers() -> Response:
    provider = current_provider()
    checked = await _change(provider)
    if isinstance(checked, Response):
        return checked
    _, user = checked
    user.devices_forgotten_at = provider.clock()
    await provider.store.users.update(user)
    return see_other(url_for("account.page", done="browsers-forgotten"))


@blueprint.post("/account/sessions/<sid>/end")
async def end_one_session(sid: str) -> Response:
    provider = current_provider()
    posted = await _posted(provider)
    if isinstance(posted, Response):
        return posted
    current, user = posted
    sessions = await provider.store.sessions.for_subject(user.id, provider.clock())
    ending = next((s for s in sessions if s.sid == sid), None)
    if ending is None:  # ended already, or not theirs
        return see_other(url_for("account.page", done="session-ended"))
    if ending.sid == current.sid:
        return await _signed_out(provider, [ending])
    await _end(provider, ending)
    return see_other(url_for("account.page", done="session-ended"))


@blueprint.post("/account/sign-out")
async def sign_out() -> Response:
    """The page's "Sign out": this browser's session ends as at the logout endpoint."""
    provider = current_provider()
    posted = await _posted(provider)
    if isinstance(posted, Response):
        return posted
    response = await render_page(SIGNED_OUT)
    await end_session(provider, posted[0], response)
    return response


@blueprint.post("/account/sign-out-everywhere")
async def sign_out_everywhere() -> Response:
    provider = current_provider()
    posted = await _posted(provider)
    if isinstance(posted, Response):
        return posted
    sessions = await provider.store.sessions.for_subject(posted[1].id, provider.clock())
    return await _signed_out(provider, sessions)


async def _signed_out(provider: Provider, sessions: list[SessionRecord]) -> Response:
    """End `sessions` (this browser's among them) and say so."""
    for ending in sessions:
        await _end(provider, ending)
    response = await render_page(SIGNED_OUT)
    clear_cookie(provider, response, SESSION)
    return response


async def _end(provider: Provider, session: SessionRecord) -> None:
    await end_server_side(provider, session)
    await audit(provider.store, "session_ended", subject=session.subject, client_id=CLIENT_ID,
                sid=session.sid)
