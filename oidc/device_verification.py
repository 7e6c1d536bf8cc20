"""Where a person connects a device (RFC 8628 §3.3): `/device` takes the user code the device
shows, runs the client's flow (second factor and all, on the browser's SSO session when there is
one), then asks on a page that names the client and what it asks for: "Allow <client> on your
device?". The answer is stored on the device's authorization, which the device's next poll reads
(oidc/device_authorization.py).

Typed codes are throttled per client address as guesses are (`steps.Throttle`): a guesser is
blocked long before the codes it could try (20^8 of them, each valid ten minutes) matter. The
confirmation is a POST with a token bound to the session and the device (CSRF), and a code
a person has answered is not offered again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import BaseModel
from quart import Blueprint, request, url_for

from core import N_, ErrorPage, same_secret
from engine import SCOPE_DESCRIPTIONS, Finish, SignInRequest, Throttle
from observe import audit, count_sign_in
from oidc.authorize import start_run
from oidc.completions import set_signed_in_cookies, signed_in_session
from oidc.device_authorization import VERIFICATION_PATH, normalized, shown
from oidc.provider import Provider, current_provider
from oidc.results import PageResult, Result, answering
from oidc.sessions import current_session
from store import ClientRecord, DeviceApproval, DeviceCodeRecord, FlowRunRecord, SessionRecord

DEVICE = "device_authorization"  # the completion kind of the runs started here
INVALID_CODE = N_("That code is not valid, or it has expired. Check it on your device and try again.")
TOO_MANY = N_("Too many attempts. Try again in %(wait)s.")

blueprint = Blueprint("device_verification", __name__)


class DeviceFinish(BaseModel):
    """What the completion keeps in a run: the device authorization it answers."""

    device: str


def _entry_page(typed: str = "", error: str | None = None, status: int = 200, wait: float = 0) -> PageResult:
    return PageResult("device.html", {"action": url_for("device_verification.verify"),
                                      "user_code": typed, "error": error, "wait": wait}, status)


@blueprint.get(VERIFICATION_PATH)
@answering
async def verify() -> Result:
    provider = current_provider()
    typed = request.args.get("user_code", "")[:32]
    if not typed:
        return _entry_page()
    found: list[DeviceCodeRecord] = []

    async def check() -> bool:
        code = normalized(typed)
        record = await provider.store.device_codes.by_user_code(code, provider.clock()) if code else None
        if record is not None and record.approval is None and record.version == 0:
            found.append(record)
        return bool(found)

    guess = await Throttle(provider.store, "user_code", None, request.remote_addr).guess(
        provider.clock(), check)
    if not guess.right:
        if guess.wait:
            return _entry_page(typed, TOO_MANY, 429, guess.wait)
        return _entry_page(typed, INVALID_CODE, 400)
    record = found[0]
    client = await provider.store.clients.get(record.client_id)
    if client is None:
        raise ErrorPage(N_("Unknown application"), N_("This device's application is gone."), 410)
    sign_in = SignInRequest(
        client_id=client.client_id, scopes=record.scope.split(),
        finish=Finish(kind=DEVICE, data=DeviceFinish(device=record.id).model_dump()),
    )
    return await start_run(provider, client, sign_in, await current_session(provider))


async def _confirmation_token(provider: Provider, session: SessionRecord, device: str) -> str:
    key = await provider.store.secrets.get_or_create("device-csrf-key", secrets.token_urlsafe(32))
    message = f"device:{session.id}:{device}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _confirm_page(client: ClientRecord, record: DeviceCodeRecord, csrf_token: str) -> PageResult:
    return PageResult("device_confirm.html", {
        "client": client, "user_code": shown(record.user_code),
        "scopes": [(s, SCOPE_DESCRIPTIONS.get(s)) for s in record.scope.split()],
        "action": url_for("device_verification.confirm"), "device": record.id,
        "csrf_token": csrf_token,
    })


class DeviceConfirmation:
    """The completion of the runs `/device` starts: the SSO session as for any sign-in, then the
    page that asks whether to allow the device."""

    kind = DEVICE

    async def complete(
        self, provider: Provider, run: FlowRunRecord, session: SessionRecord | None
    ) -> Result:
        device = DeviceFinish.model_validate(run.sign_in.finish.data).device
        if run.state == "deny":
            count_sign_in("denied")
            await provider.store.device_codes.decide(device, DeviceApproval(denied=True))
            raise ErrorPage(N_("Sign-in cannot continue"), run.message or N_("Please contact support."))
        record = await provider.store.device_codes.get(device)
        client = await provider.store.clients.get(run.sign_in.client_id)
        if record is None or client is None or record.expires_at <= provider.clock():
            raise ErrorPage(N_("This code has expired"), N_("Start again on your device."), 410)
        signed_in, cookie_value = await signed_in_session(provider, run, session, client.client_id)
        page = _confirm_page(client, record, await _confirmation_token(provider, signed_in, device))
        set_signed_in_cookies(provider, page, signed_in, cookie_value)
        return page

    def start_again(self, run: FlowRunRecord) -> str:
        return VERIFICATION_PATH


@blueprint.post(f"{VERIFICATION_PATH}/confirm")
@answering
async def confirm() -> Result:
    provider = current_provider()
    form = await request.form
    session = await current_session(provider)
    device = form.get("device", "")
    if session is None or not same_secret(
        form.get("csrf_token", ""), await _confirmation_token(provider, session, device)
    ):
        raise ErrorPage(N_("This form has expired"), N_("Go back, reload the page and try again."))
    record = await provider.store.device_codes.get(device)
    if record is None or record.expires_at <= provider.clock() or record.approval is not None:
        raise ErrorPage(N_("This code has expired"), N_("Start again on your device."), 410)
    allowed = form.get("decision") == "allow"
    approval = DeviceApproval(
        subject=session.subject, sid=session.sid, auth_time=session.auth_time, amr=session.amr,
        acr=session.acr,
    ) if allowed else DeviceApproval(denied=True)
    await provider.store.device_codes.decide(device, approval)
    await audit(provider.store, "device_allowed" if allowed else "device_refused",
                subject=session.subject, client_id=record.client_id)
    return PageResult("device_done.html", {"allowed": allowed})
