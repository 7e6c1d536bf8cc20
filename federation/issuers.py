"""Which issuer an upstream OpenID provider's responses and ID tokens may name.

Usually the configured one, which the metadata must repeat (OIDC Discovery §4.3). A provider that
serves many tenants from one discovery document (Microsoft Entra ID's `common` and
`organizations` endpoints, `multi_tenant: true`) publishes an issuer template with `{tenantid}`
instead, and each ID token comes from its own tenant's issuer: the template with the token's
`tid` claim in it. Such a provider admits people of any tenant; `required_claims: {tid: [...]}`
narrows them down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from federation.config import UpstreamProviderSettings

PLACEHOLDER = "{tenantid}"
TENANT_ID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a GUID


class IssuerMismatch(ValueError):
    pass


@dataclass(frozen=True)
class IssuerRule:
    configured: str
    template: str | None = None  # multi-tenant: the published issuer, with PLACEHOLDER

    @classmethod
    def of(cls, settings: UpstreamProviderSettings, published: object) -> IssuerRule:
        """The rule for a provider whose metadata names `published`; `IssuerMismatch` when that
        is not the configured issuer (nor, for a multi-tenant one, a template on its host)."""
        configured = str(settings.issuer)
        if not settings.multi_tenant:
            if published != configured:
                raise IssuerMismatch(f"the metadata names issuer {published!r}")
            return cls(configured)
        if not isinstance(published, str) or published.count(PLACEHOLDER) != 1:
            raise IssuerMismatch(f"the metadata's issuer {published!r} has no {PLACEHOLDER}")
        ours, theirs = urlsplit(configured), urlsplit(published.replace(PLACEHOLDER, "t"))
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            raise IssuerMismatch(f"the metadata's issuer {published!r} is on another host")
        return cls(configured, published)

    def names(self, iss: str) -> bool:
        """Whether `iss` (RFC 9207's response parameter) is an issuer of this provider."""
        if self.template is None:
            return iss == self.configured
        before, after = self.template.split(PLACEHOLDER)
        return re.fullmatch(re.escape(before) + TENANT_ID + re.escape(after), iss) is not None

    def for_token(self, claims: dict[str, Any]) -> str:
        """The issuer an ID token with these (signature-checked) claims must name."""
        if self.template is None:
            return self.configured
        tid = claims.get("tid")
        if not isinstance(tid, str) or not re.fullmatch(TENANT_ID, tid):
            raise IssuerMismatch("the ID token of a multi-tenant provider has no valid tid")
        return self.template.replace(PLACEHOLDER, tid)
