"""Sending the authorization response to the client: by redirect with a query (RFC 6749 §4.1.2), or
as an auto-submitting form (OAuth 2.0 Form Post Response Mode). Both carry `iss` (RFC 9207 §2)."""

from __future__ import annotations

from dataclasses import dataclass

from oidc.errors import OAuth2Error
from oidc.http import with_query
from oidc.provider import Provider
from oidc.results import FormPost, Redirect

RESPONSE_MODES = ("query", "form_post")


@dataclass(frozen=True)
class ResponseTarget:
    """Where and how the answer goes: only ever a redirect URI that was registered exactly."""

    redirect_uri: str
    response_mode: str
    state: str | None


async def authorization_response(
    provider: Provider, target: ResponseTarget, params: dict[str, str | None]
) -> Redirect | FormPost:
    values = [(k, v) for k, v in {**params, "state": target.state}.items() if v is not None]
    values.append(("iss", provider.issuer))
    if target.response_mode == "form_post":
        # Form Post Response Mode §2: an HTML form posted to the redirect URI; the page submits
        # itself with a script file (no inline script under the CSP) and shows a button without it.
        return FormPost(target.redirect_uri, values)
    return Redirect(with_query(target.redirect_uri, values))


async def error_response(
    provider: Provider, target: ResponseTarget, error: OAuth2Error
) -> Redirect | FormPost:
    """An error sent back to the client (RFC 6749 §4.1.2.1)."""
    description = error.get_error_description() or None
    return await authorization_response(
        provider, target, {"error": error.error, "error_description": description}
    )
