"""`create_app()`: the Quart application, composed from settings."""

from __future__ import annotations

import logging
from pathlib import Path

from quart import Quart

from admin import CONSOLE, AdminConfig, install_admin
from engine import check_directories, check_offered, load_flows
from federation import upstreams_for
from observe import (
    Ping,
    begin_request,
    configure_logging,
    end_request,
    health_blueprint,
    metrics_blueprint,
)
from oidc import BLUEPRINTS as PROTOCOL_BLUEPRINTS
from oidc import (
    EXTENSION_KEY,
    Provider,
)
from server.config_reload import reload_config, sync_clients
from server.fast_path import install_fast_path
from server.flows_reload import watch_flows
from server.issuer_origin import issuer_origin, redirect_to_issuer
from server.maintenance import start_maintenance
from server.provider_factory import build_provider
from server.settings import Settings, load_settings
from steps import PasswordHashing
from store import StoreUnavailableError, open_store
from ui import BLUEPRINTS as PAGE_BLUEPRINTS
from ui import CLIENT_ID as ACCOUNT_CLIENT_ID
from ui import (
    add_security_headers,
    check_templates,
    install_results,
    install_step_templates,
    install_translations,
    register_error_pages,
)

log = logging.getLogger("gatehouse")
APP_FACTORY = "server.app:app_from_environment"  # what each of several worker processes runs
UI_DIR = Path(__file__).resolve().parent.parent / "ui"


def store_ping(app: Quart) -> Ping:
    """How `/readyz` asks the store of `app`'s provider (not open yet: unavailable)."""

    async def ping() -> None:
        provider: Provider | None = app.extensions.get(EXTENSION_KEY)
        if provider is None:
            raise StoreUnavailableError("the store is not open yet")
        await provider.store.ping()

    return ping


def create_app(settings: Settings) -> Quart:
    app = Quart(
        "gatehouse",
        static_folder=str(UI_DIR / "static"),
        template_folder=str(UI_DIR / "templates"),
    )
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        BODY_TIMEOUT=settings.request_timeout,
        RESPONSE_TIMEOUT=settings.request_timeout,
    )
    install_translations(app.jinja_env)
    install_step_templates(app)
    # Fail before serving if flows.yaml is invalid: every problem is listed with file:line:column.
    flows = load_flows(settings.path(settings.flows_file))
    for client in settings.clients:
        if client.client_id in (ACCOUNT_CLIENT_ID, CONSOLE):
            raise ValueError(f"client id {client.client_id!r} is one of the server's own")
        if client.flow is not None and client.flow not in flows.flows:
            raise ValueError(
                f"client {client.client_id}: flow {client.flow!r} is not in flows.yaml"
            )
    passwords = PasswordHashing(threads=settings.password_hash_threads)
    if settings.metrics_token is None and settings.issuer.startswith("https://"):
        log.warning(
            "metrics_token is not set: anyone who reaches this server may read /metrics; set it,"
            " or keep /metrics unreachable at the load balancer"
        )
    if settings.outbound_allow_private_addresses:
        log.warning("outbound_allow_private_addresses is on: SSRF protection is weakened")
    outbound = settings.outbound_http()
    upstreams = upstreams_for(settings.issuer, settings.upstream_providers, outbound)
    check_offered(flows, upstreams)
    check_directories(flows, settings.directories)
    check_templates(flows)

    @app.before_serving
    async def start() -> None:
        store = await open_store(settings.store)
        await sync_clients(store, settings)
        app.extensions[EXTENSION_KEY] = await build_provider(
            settings, store, flows, passwords, outbound, upstreams
        )
        provider = app.extensions[EXTENSION_KEY]
        app.extensions["gatehouse.tasks"] = [
            *start_maintenance(provider, settings.key_refresh_interval, settings.purge_interval),
            *watch_flows(
                provider.engine, settings.path(settings.flows_file), store,
                settings.flows_reload_interval, on_sighup=lambda: reload_config(settings, store),
            ),
        ]

    @app.after_serving
    async def stop() -> None:
        for task in app.extensions.pop("gatehouse.tasks", []):
            task.cancel()
        provider: Provider | None = app.extensions.pop(EXTENSION_KEY, None)
        if provider is not None:
            await provider.store.close()
        passwords.close()

    app.before_request(begin_request)
    origin = issuer_origin(settings.issuer)
    if origin is not None:
        app.before_request(redirect_to_issuer(origin))
    install_fast_path(app, settings.max_request_bytes, settings.request_timeout, origin)
    for blueprint in (
        health_blueprint(store_ping(app)),
        metrics_blueprint(settings.metrics_token),
        *PROTOCOL_BLUEPRINTS,
        *PAGE_BLUEPRINTS,
    ):
        app.register_blueprint(blueprint)
    if settings.demo:
        from demo import demo_blueprint

        app.register_blueprint(
            demo_blueprint(settings.issuer, settings.demo_client_id, settings.clients)
        )
    install_admin(app, settings.issuer, AdminConfig(
        group=settings.admin_group, reauth_seconds=settings.account_reauth_seconds
    ))
    install_results(app)
    register_error_pages(app)
    app.after_request(add_security_headers)
    app.after_request(end_request)
    return app


def app_from_environment() -> Quart:
    """The app of one worker process: settings from `GATEHOUSE_CONFIG` and the environment."""
    settings = load_settings()
    configure_logging(settings.log_format)
    return create_app(settings)
