"""The protocol's endpoints, as the blueprints the server registers."""

from __future__ import annotations

from quart import Blueprint

from oidc import (
    authorize,
    client_registration,
    device_authorization,
    device_verification,
    discovery,
    introspection,
    logout,
    pushed_requests,
    revocation,
    token,
    userinfo,
)

BLUEPRINTS: tuple[Blueprint, ...] = (
    revocation.blueprint,
    logout.blueprint,
    introspection.blueprint,
    discovery.blueprint,
    authorize.blueprint,
    token.blueprint,
    pushed_requests.blueprint,
    device_authorization.blueprint,
    device_verification.blueprint,
    client_registration.blueprint,
    userinfo.blueprint,
)
