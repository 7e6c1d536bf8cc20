"""Rendering a step's page with the real templates and translations, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from steps.base import Page
from ui.i18n import install_translations

TEMPLATES = Path(__file__).resolve().parents[2] / "ui" / "templates"


def render_step_page(page: Page, **context: Any) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    install_translations(env)
    env.globals["url_for"] = lambda *args, **kwargs: "/static/gatehouse.css"
    return env.get_template(page.template).render(
        values=page.values, errors=page.errors, step=page.step, actions=page.actions,
        identified_as=page.identified_as, step_notice=page.notice, csrf_token="t", action="/flow/x", client={},
        locale="en", **context,
    )
