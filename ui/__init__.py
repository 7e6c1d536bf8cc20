"""The browser-facing side: flow pages, templates, static files, CSRF, i18n, branding, headers.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from ui.account_sign_in import CLIENT_ID, AccountPage, account_client
from ui.blueprints import BLUEPRINTS
from ui.form_tokens import check_form_token, form_token
from ui.i18n import available_locales, install_translations
from ui.pages import register_error_pages, render_page
from ui.reset_links import KIND as RESET_LINK
from ui.reset_links import CannotSend, cancel_reset_links, send_reset_link
from ui.results import install_results, respond
from ui.security import add_security_headers, security_headers
from ui.step_templates import check_templates, install_step_templates

__all__ = [
    "AccountPage",
    "BLUEPRINTS",
    "CLIENT_ID",
    "CannotSend",
    "RESET_LINK",
    "account_client",
    "add_security_headers",
    "available_locales",
    "cancel_reset_links",
    "check_templates",
    "check_form_token",
    "form_token",
    "install_results",
    "install_step_templates",
    "install_translations",
    "register_error_pages",
    "render_page",
    "respond",
    "send_reset_link",
    "security_headers",
]
