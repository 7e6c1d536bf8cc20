"""Response headers every page gets: CSP without inline script, framing refused, no referrer, no
caching of anything but static files, and HSTS when the issuer is https."""

from __future__ import annotations

from quart import Response, current_app, request

from oidc.provider import EXTENSION_KEY, Provider

# No `form-action`: Chromium applies it to the redirects that follow a form post, and a finished
# sign-in legitimately redirects to the client's registered redirect URI.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


async def add_security_headers(response: Response) -> Response:  # async: no thread hop
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Codes and run ids travel in URLs: never leak them through Referer.
    headers.setdefault("Referrer-Policy", "no-referrer")
    # The issuer says whether the server is reached over https (perhaps through a proxy that ends
    # TLS); a request header must not decide it.
    provider: Provider | None = current_app.extensions.get(EXTENSION_KEY)
    if provider is not None and provider.secure_cookies:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    return response
