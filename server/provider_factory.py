"""The provider a server process (or a CLI command) works with, composed from settings."""

from __future__ import annotations

import logging
import secrets

from admin import ConsolePage
from core import AddressLimit, OutboundHttp
from engine import FlowEngine, FlowSet
from federation import Upstream, directories_for
from mail import LogMailer, Mailer, SmtpMailer
from observe import configure_audit
from oidc import (
    AuthorizationResponse,
    DeviceConfirmation,
    KeyRing,
    Provider,
    by_kind,
)
from server.sealing import sealer_for
from server.settings import Settings
from steps import PasswordHashing, Services
from store import Store
from ui import AccountPage, available_locales

log = logging.getLogger("gatehouse")


def mailer_for(settings: Settings) -> Mailer:
    if settings.smtp_host is None:
        log.warning("smtp_host is not set: email codes are written to the log, not sent")
        return LogMailer()
    return SmtpMailer(
        settings.smtp_host, settings.smtp_port, settings.mail_from,
        settings.smtp_username, settings.smtp_password, settings.smtp_tls,
        settings.smtp_starttls,
    )


async def build_provider(
    settings: Settings, store: Store, flows: FlowSet, passwords: PasswordHashing,
    outbound: OutboundHttp, upstreams: dict[str, Upstream],
) -> Provider:
    """The provider of `settings` over `store`, with the flows and services given (the server's
    and the CLI's, which audit alike)."""
    configure_audit(settings.audit_retention, settings.audit_stream)
    sealer = await sealer_for(settings, store)
    return Provider(
        issuer=settings.issuer,
        store=store,
        keys=await KeyRing.load(store, sealer),
        engine=FlowEngine(
            flows,
            Services(
                store, passwords, mailer_for(settings), sealer,
                settings.relying_party, upstreams, directories_for(settings.directories),
            ),
            run_lifetime=settings.run_lifetime,
            run_log_retention=settings.run_log_retention,
        ),
        code_lifetime=settings.code_lifetime,
        pushed_request_lifetime=settings.pushed_request_lifetime,
        dpop_nonces=settings.dpop_nonces,
        profile=settings.profile,
        registration=settings.registration,
        open_registration_grant_types=settings.open_registration_grant_types,
        dpop_nonce_key=await store.secrets.get_or_create(
            "dpop-nonce-key", secrets.token_urlsafe(32)
        ),
        require_pushed_authorization_requests=settings.require_pushed_authorization_requests,
        access_token_lifetime=settings.access_token_lifetime,
        id_token_lifetime=settings.id_token_lifetime,
        session_lifetime=settings.session_lifetime,
        max_sessions_per_user=settings.max_sessions_per_user,
        run_starts=AddressLimit(settings.runs_per_minute_per_address),
        ui_locales=available_locales(),
        outbound=outbound,
        device_key=await store.secrets.get_or_create(
            "remembered-device-key", secrets.token_urlsafe(32)
        ),
        account_reauth_seconds=settings.account_reauth_seconds,
        # How finished runs are answered: a new way in adds its completion here.
        completions=by_kind([
            AuthorizationResponse(), AccountPage(), DeviceConfirmation(), ConsolePage()
        ]),
    )
