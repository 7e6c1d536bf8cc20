"""Response headers every page gets: CSP without inline script, framing refused, no referrer, no
caching of anything but static files, and HSTS when the issuer is https."""

from __future__ import annotations

from quart import Response, current_app, request

from oidc import EXTENSION_KEY, Provider

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


# Every answer's headers, unless the answer set its own; names in lower case to compare.
EVERY_ANSWER = (
    ("content-security-policy", "Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "X-Content-Type-Options", "nosniff"),
    ("x-frame-options", "X-Frame-Options", "DENY"),
    # Codes and run ids travel in URLs: never leak them through Referer.
    ("referrer-policy", "Referrer-Policy", "no-referrer"),
)


def security_headers(present: set[str], hsts: bool, static: bool) -> list[tuple[str, str]]:
    """The headers to add to an answer that has the headers named in `present` (lower case):
    those of every answer it lacks; HSTS when the issuer is https (`hsts`); `no-store` unless
    the answer says how it may be cached or is a `static` file."""
    added = [(name, value) for lower, name, value in EVERY_ANSWER if lower not in present]
    if hsts and "strict-transport-security" not in present:
        added.append(("Strict-Transport-Security", "max-age=31536000"))
    if "cache-control" not in present and not static:
        added.append(("Cache-Control", "no-store"))
    return added


async def add_security_headers(response: Response) -> Response:  # async: no thread hop
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}  # one pass over the headers
    # The issuer says whether the server is reached over https (perhaps through a proxy that ends
    # TLS); a request header must not decide it.
    provider: Provider | None = current_app.extensions.get(EXTENSION_KEY)
    hsts = provider is not None and provider.secure_cookies
    for name, value in security_headers(present, hsts, request.path.startswith("/static/")):
        headers.add(name, value)
    return response
