"""`ErrorPage`: an error shown to the person in the browser, for the cases where redirecting to the
client would be unsafe (unknown client, unregistered redirect URI) or there is no client to go to."""

from __future__ import annotations


class ErrorPage(Exception):
    """Shown to the person in the browser; never sent to the client's redirect URI."""

    def __init__(
        self, title: str, message: str, status: int = 400, link: tuple[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.title, self.message, self.status = title, message, status
        self.link = link  # (href on this server, button label): a way on, e.g. "Start again"
        self.retry_after = retry_after  # seconds, for a 429 or 503 (RFC 9110 §10.2.3)
