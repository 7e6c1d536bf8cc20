"""The pages for people, as the blueprints the server registers."""

from __future__ import annotations

from quart import Blueprint

from ui import account, flow_pages, home, reset_links

BLUEPRINTS: tuple[Blueprint, ...] = (
    flow_pages.blueprint, account.blueprint, reset_links.blueprint, home.blueprint
)
