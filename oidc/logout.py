"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

The browser is sent back to the client only when an ID token we signed (`id_token_hint`) names the
client and the `post_logout_redirect_uri` is registered for it exactly (§3; the hint is required as
the spec's editors agreed, so that the redirect cannot be abused). Without a valid hint, or with one
from an older session, the person is asked to confirm, and is never redirected.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from quart import Blueprint, request, url_for

from core import N_, ErrorPage, same_secret
from oidc.http import with_query
from oidc.id_token_hint import id_token_claims
from oidc.provider import Provider, current_provider
from oidc.results import PageResult, Redirect, Result, answering
from oidc.sessions import current_session, end_session
from store import SessionRecord

blueprint = Blueprint("logout", __name__)


async def _confirmation_token(provider: Provider, session: SessionRecord | None) -> str:
    key = await provider.store.secrets.get_or_create("logout-csrf-key", secrets.token_urlsafe(32))
    message = f"logout:{session.id if session else '-'}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


async def _signed_out(provider: Provider, session: SessionRecord | None) -> PageResult:
    page = PageResult("signed_out.html")
    await end_session(provider, session, page)
    return page


@blueprint.route("/logout", methods=["GET", "POST"])
@answering
async def logout() -> Result:
    provider = current_provider()
    source = (await request.form) if request.method == "POST" else request.args
    params = {name: source.get(name) or None for name in source}
    session = await current_session(provider)
    hint = id_token_claims(provider, params.get("id_token_hint"))  # expired is fine (§2)
    if session is None and hint is None:
        return await _signed_out(provider, session)  # nothing to end, so nothing to confirm
    audience = hint.get("aud") if hint else None
    hinted_client = audience[0] if isinstance(audience, list) and audience else audience
    client_id = params.get("client_id")
    if hint and client_id and client_id != hinted_client:
        # §2: client_id and the hint's audience must name the same client.
        raise ErrorPage(N_("Sign-out failed"), N_("The sign-out link is not valid."))
    target = params.get("post_logout_redirect_uri")
    if target and hint:
        client = await provider.store.clients.get(str(hinted_client))
        if client is None or target not in client.post_logout_redirect_uris:
            # §4: an unregistered URI gets an error page, never a redirect.
            raise ErrorPage(N_("Sign-out failed"), N_("The sign-out link is not valid."))
    current = session is None or (hint is not None and hint.get("sid") == session.sid)
    if hint is None or not current:
        # No proof of which client asks, or a hint from another session: ask, never redirect.
        return PageResult(
            "logout_confirm.html",
            {
                "action": url_for("logout.confirm"),
                "csrf_token": await _confirmation_token(provider, session),
            },
        )
    if not target:
        return await _signed_out(provider, session)
    state = params.get("state")
    redirect = Redirect(with_query(target, [("state", state)] if state else []))
    await end_session(provider, session, redirect)
    return redirect


@blueprint.post("/logout/confirm")
@answering
async def confirm() -> Result:
    provider = current_provider()
    session = await current_session(provider)
    form = await request.form
    expected = await _confirmation_token(provider, session)
    if not same_secret(form.get("csrf_token", ""), expected):
        raise ErrorPage(N_("This form has expired"), N_("Go back, reload the page and try again."))
    return await _signed_out(provider, session)
