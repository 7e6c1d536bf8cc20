"""A plain OAuth 2.0 provider (GitHub and the like), which has no ID token: who signed in is what
its user API answers to the access token. Gatehouse got that token itself, from the token endpoint
over TLS in exchange for a code bound to this run by `state` and PKCE, so the answer is the
provider's word about the person who just authorized it.

Such a provider says nothing about how or when its user signed in: no `amr`, no `auth_time`.
Its sign-ins count as one factor, and it cannot serve a client that asks for a fresh sign-in.
An address counts only from its emails list, when that says the primary address is verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client

from federation.upstream import (
    Attempt,
    Endpoints,
    Upstream,
    UpstreamError,
    UpstreamIdentity,
    bounded,
)

# OpenID claims about the sign-in itself, and an address nobody checked: a plain API's fields of
# these names promise nothing. `email` comes back only from the emails list, verified; `groups`
# only from the groups list.
UNPROVEN_CLAIMS = ("amr", "acr", "auth_time", "email", "email_verified", "groups")
# The emails list answers these when the person did not grant the scope that reads it.
NOT_GRANTED = (403, 404)
MAX_SUBJECT_LENGTH = 255


class OAuth2Upstream(Upstream):
    async def endpoints(self) -> Endpoints:
        settings = self.settings
        assert settings.authorization_endpoint and settings.token_endpoint  # required of oauth2
        return Endpoints(settings.authorization_endpoint, settings.token_endpoint)

    async def identity(
        self, client: AsyncOAuth2Client, token: Mapping[str, Any], attempt: Attempt
    ) -> UpstreamIdentity:
        assert self.settings.userinfo_endpoint is not None  # required of oauth2
        user = await self._get_with_token(client, self.settings.userinfo_endpoint, "user API")
        if not isinstance(user, dict):
            raise UpstreamError("the user API did not answer a JSON object")
        subject = _subject(user.get(self.settings.subject_claim))
        if subject is None:
            raise UpstreamError(f"the user API's answer has no {self.settings.subject_claim!r}")
        claims = {k: v for k, v in user.items() if k not in UNPROVEN_CLAIMS}
        claims["sub"] = subject
        verified = await self._verified_address(client)
        if verified is not None:
            claims.update(email=verified, email_verified=True)
        if self.settings.groups_endpoint is not None:
            claims["groups"] = await self._groups(client, self.settings.groups_endpoint)
        return UpstreamIdentity(self.id, subject, bounded(claims))

    async def _groups(self, client: AsyncOAuth2Client, endpoint: str) -> list[str]:
        """The `groups_field` of each object the groups list answers (none when not granted)."""
        answer = await self._get_with_token(client, endpoint, "groups", also_ok=NOT_GRANTED)
        if answer is None:
            return []
        if not isinstance(answer, list):
            raise UpstreamError("the groups answer is not a list")
        field = self.settings.groups_field
        return [g[field] for g in answer if isinstance(g, dict) and isinstance(g.get(field), str)]

    async def _verified_address(self, client: AsyncOAuth2Client) -> str | None:
        """The account's primary address when the emails list says it is verified."""
        endpoint = self.settings.emails_endpoint
        if endpoint is None:
            return None
        answer = await self._get_with_token(client, endpoint, "emails", also_ok=NOT_GRANTED)
        return None if answer is None else _primary_verified(answer)


def _subject(value: object) -> str | None:
    """The account's id as a string: a non-empty string, or an integer (GitHub's ids are)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= MAX_SUBJECT_LENGTH else None


def _primary_verified(emails: object) -> str | None:
    """From a list of `{email, primary, verified}` (GitHub's `/user/emails`): the primary address
    if it is verified. Another verified address may be an old one (a former employer's)."""
    if not isinstance(emails, list):
        raise UpstreamError("the emails answer is not a list")
    return next((
        e["email"] for e in emails
        if isinstance(e, dict) and e.get("primary") is True and e.get("verified") is True
        and isinstance(e.get("email"), str)
    ), None)
