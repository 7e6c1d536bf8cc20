"""Operators: the admin API (/admin/api, with its OpenAPI document), the admin console (/admin),
and the operations both share with the CLI (users, clients, sessions, audit, flows, keys).

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from quart import Blueprint, Quart

from admin.actors import Actor, AdminError
from admin.api import ENDPOINTS
from admin.api_routes import ADMIN_SCOPE, API_PREFIX, READ_SCOPE, api_blueprint
from admin.config import CONFIG_KEY, AdminConfig
from admin.openapi import openapi_document


def install_admin(app: Quart, issuer: str, config: AdminConfig) -> None:
    """Serve the admin API (and its document) on `app`."""
    app.extensions[CONFIG_KEY] = config
    document = openapi_document(ENDPOINTS, issuer)
    blueprint: Blueprint = api_blueprint(ENDPOINTS, lambda: document)
    app.register_blueprint(blueprint)


__all__ = [
    "ADMIN_SCOPE",
    "API_PREFIX",
    "Actor",
    "AdminConfig",
    "AdminError",
    "READ_SCOPE",
    "install_admin",
]
