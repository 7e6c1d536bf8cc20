"""The OpenID Connect protocol: discovery, keys, authorize, token, userinfo, the SSO session.

The room's face: other rooms import only the names in `__all__`, from here.
"""

from __future__ import annotations

from oidc.authorize import AuthorizationResponse, start_run
from oidc.blueprints import BLUEPRINTS
from oidc.client_auth import AUTH_METHODS_SUPPORTED, secret_digest
from oidc.client_metadata import ClientMetadata, ClientPolicy
from oidc.completions import (
    by_kind,
    finish_run,
    set_signed_in_cookies,
    signed_in_redirect,
    signed_in_session,
)
from oidc.cookies import (
    SESSION,
    browser_binding,
    clear_cookie,
    set_browser_cookie,
    set_session_cookie,
)
from oidc.device_verification import DeviceConfirmation
from oidc.devices import browser_facts, remember_device, signed_in_browser_facts
from oidc.discovery import jwks_document, metadata_document
from oidc.errors import InsufficientScopeError, InvalidTokenError, OAuth2Error
from oidc.http import Answer, BackChannelRequest, see_other
from oidc.keys import SUPPORTED_ALGS, KeyRing, rotate, seal_stored_keys
from oidc.profiles import FAPI2, fapi2_problems
from oidc.protected_resources import ResourceToken, challenge, resource_token, token_scheme
from oidc.provider import EXTENSION_KEY, Provider, current_provider
from oidc.results import RESPOND_KEY, FormPost, PageResult, Redirect, Result, answering
from oidc.run_access import browser_run
from oidc.sessions import current_session, end_server_side, end_session
from oidc.token import GRANT_TYPES_SUPPORTED, token_answer

__all__ = [
    "AUTH_METHODS_SUPPORTED",
    "GRANT_TYPES_SUPPORTED",
    "Answer",
    "AuthorizationResponse",
    "BLUEPRINTS",
    "BackChannelRequest",
    "ClientMetadata",
    "ClientPolicy",
    "DeviceConfirmation",
    "EXTENSION_KEY",
    "FAPI2",
    "FormPost",
    "InsufficientScopeError",
    "InvalidTokenError",
    "KeyRing",
    "OAuth2Error",
    "PageResult",
    "Provider",
    "RESPOND_KEY",
    "Redirect",
    "ResourceToken",
    "Result",
    "SESSION",
    "SUPPORTED_ALGS",
    "answering",
    "browser_facts",
    "browser_run",
    "by_kind",
    "challenge",
    "finish_run",
    "browser_binding",
    "clear_cookie",
    "current_provider",
    "current_session",
    "end_server_side",
    "end_session",
    "fapi2_problems",
    "jwks_document",
    "metadata_document",
    "remember_device",
    "resource_token",
    "rotate",
    "seal_stored_keys",
    "secret_digest",
    "see_other",
    "set_browser_cookie",
    "set_session_cookie",
    "set_signed_in_cookies",
    "signed_in_browser_facts",
    "signed_in_redirect",
    "signed_in_session",
    "start_run",
    "token_answer",
    "token_scheme",
]
