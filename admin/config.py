"""The admin room's settings, kept on the app by `install_admin`."""

from __future__ import annotations

from dataclasses import dataclass

from quart import Quart

CONFIG_KEY = "gatehouse.admin"


@dataclass(frozen=True)
class AdminConfig:
    group: str = "admins"  # users in it may use the console (and user tokens the API)
    reauth_seconds: int = 300  # a destructive console action needs a sign-in this recent


def admin_config(app: Quart) -> AdminConfig:
    config = app.extensions.get(CONFIG_KEY)
    return config if isinstance(config, AdminConfig) else AdminConfig()
