"""Operators: the admin API (/admin/api, with its OpenAPI document), the admin console (/admin),
and the operations both share with the CLI (users, clients, sessions, audit, flows, keys).

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from quart import Blueprint, Quart

from admin import console_clients, console_system, console_user_forms, console_users
from admin.actors import CONSOLE, Actor, AdminError
from admin.api import ENDPOINTS
from admin.api_routes import ADMIN_SCOPE, API_PREFIX, READ_SCOPE, api_blueprint
from admin.clients import (
    all_clients,
    create_client,
    delete_client,
    find_client,
    revoke_tokens,
    rotate_secret,
)
from admin.config import CONFIG_KEY, AdminConfig
from admin.console_sign_in import ConsolePage, console_client
from admin.directory_sync import SyncReport, sync_directory
from admin.openapi import openapi_document
from admin.users import (
    create_user,
    delete_user,
    disable_user,
    enable_user,
    find_user,
    reset_second_factors,
    send_password_reset,
    set_password,
    unlock_user,
)
from admin.views import client as client_view
from admin.views import user_detail


def install_admin(app: Quart, issuer: str, config: AdminConfig) -> None:
    """Serve the admin API (and its document) and the console on `app`; the server adds
    `ConsolePage` to the provider's completions and `console_client()` to its store."""
    app.extensions[CONFIG_KEY] = config
    document = openapi_document(ENDPOINTS, issuer)
    blueprint: Blueprint = api_blueprint(ENDPOINTS, lambda: document)
    consoles = (console_users, console_user_forms, console_clients, console_system)
    for each in (blueprint, *(console.blueprint for console in consoles)):
        app.register_blueprint(each)


__all__ = [
    "SyncReport",
    "ADMIN_SCOPE",
    "API_PREFIX",
    "Actor",
    "AdminConfig",
    "AdminError",
    "CONSOLE",
    "ConsolePage",
    "READ_SCOPE",
    "all_clients",
    "client_view",
    "console_client",
    "create_client",
    "create_user",
    "delete_client",
    "delete_user",
    "disable_user",
    "enable_user",
    "find_client",
    "find_user",
    "reset_second_factors",
    "send_password_reset",
    "revoke_tokens",
    "rotate_secret",
    "set_password",
    "unlock_user",
    "user_detail",
    "install_admin",
    "sync_directory",
]
