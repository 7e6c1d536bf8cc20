"""The OAuth errors the endpoints raise, from authlib and a few of its own (`ErrorPage`, in core,
is for the cases where redirecting to the client would be unsafe)."""

from __future__ import annotations

from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    InvalidRequestObjectError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)

# RFC 6749 §4.1.2.1: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_DESCRIPTION_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


def printable(text: str, limit: int = 40) -> str:
    """Request text made fit for an error_description: allowed characters only, and short."""
    return "".join(c for c in text if c in _DESCRIPTION_CHARS)[:limit]


class ClientAuthenticationFailed(InvalidClientError):  # type: ignore[misc]
    """`invalid_client` with 401. RFC 6749 §5.2: the `WWW-Authenticate` challenge is sent only when
    the client tried the Authorization header (Basic)."""

    def __init__(self, description: str, basic: bool = False) -> None:
        super().__init__(description, status_code=401)
        self.basic = basic

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        return headers if self.basic else [h for h in headers if h[0] != "WWW-Authenticate"]


class ServerError(OAuth2Error):  # type: ignore[misc]
    """RFC 6749 §4.1.2.1: the sign-in could not be completed because of a failure on our side
    (a flow's step that failed at run time)."""

    error = "server_error"
    status_code = 500


class InsufficientScopeError(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1: the token does not carry the scope the resource needs."""

    error = "insufficient_scope"
    status_code = 403


class InvalidDPoPProofError(OAuth2Error):  # type: ignore[misc]
    """RFC 9449 §5: the DPoP proof is missing where required, malformed, or does not hold."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(OAuth2Error):  # type: ignore[misc]
    """RFC 9449 §8: the proof must carry the server's current nonce, sent in `DPoP-Nonce`."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, nonce: str) -> None:
        super().__init__("a DPoP proof with the server's nonce is required")
        self.nonce = nonce

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        return [*headers, ("DPoP-Nonce", self.nonce)]


class InvalidTokenError(OAuth2Error):  # type: ignore[misc]
    """RFC 6750 §3.1: the access token is expired, revoked, malformed, or invalid."""

    error = "invalid_token"
    status_code = 401


__all__ = [
    "ConsentRequiredError",
    "InteractionRequiredError",
    "AccessDeniedError",
    "ClientAuthenticationFailed",
    "InvalidClientError",
    "InvalidDPoPProofError",
    "InvalidGrantError",
    "InsufficientScopeError",
    "InvalidRequestError",
    "InvalidRequestObjectError",
    "InvalidScopeError",
    "InvalidTokenError",
    "LoginRequiredError",
    "OAuth2Error",
    "RequestNotSupportedError",
    "RequestURINotSupportedError",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseTypeError",
    "UseDPoPNonceError",
]
