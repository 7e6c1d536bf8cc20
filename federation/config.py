"""How an upstream provider is declared in the config (`upstream_providers`): an OpenID provider,
found through its issuer, or a plain OAuth 2.0 provider (GitHub and the like), whose endpoints
are given."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

OAUTH2_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                   "emails_endpoint", "groups_endpoint")
OIDC_SCOPES = ("openid", "profile", "email")
DEFAULT_CLAIMS = {"username": "preferred_username", "email": "email", "name": "name"}


class UpstreamProviderSettings(BaseModel):
    """An upstream provider people may sign in with (the `federated` flow step).

    Register `{issuer}/federation/{id}/callback` as the redirect URI at the provider (`issuer`
    being Gatehouse's own).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="Names the provider in flows.yaml and in its redirect URI.",
    )
    protocol: Literal["oidc", "oauth2"] = Field(
        "oidc",
        description="`oidc`: an OpenID provider, whose ID token says who signed in. `oauth2`: a"
        " plain OAuth 2.0 provider (GitHub...), whose user API (`userinfo_endpoint`) says it;"
        " give its endpoints, since it publishes no metadata.",
    )
    issuer: str | None = Field(
        None,
        description="`oidc`: the provider's issuer; its metadata is read from"
        " `{issuer}/.well-known/openid-configuration` (OIDC Discovery).",
    )
    multi_tenant: bool = Field(
        False,
        description="`oidc`: one discovery document for many tenants, whose issuer is a template"
        " with `{tenantid}` (Microsoft Entra ID's `common` and `organizations`): each ID token"
        " must come from its own tenant's issuer, named by its `tid`. Anyone of any tenant may"
        " then sign in: narrow it with `required_claims: {tid: [...]}`.",
    )
    authorization_endpoint: str | None = Field(
        None, description="`oauth2`: where the browser is sent to sign in and allow access."
    )
    token_endpoint: str | None = Field(None, description="`oauth2`: where the code is exchanged.")
    userinfo_endpoint: str | None = Field(
        None,
        description="`oauth2`: the user API, which answers the access token with the account as"
        " a JSON object (GitHub: `https://api.github.com/user`).",
    )
    emails_endpoint: str | None = Field(
        None,
        description="`oauth2`: a list of the account's addresses with `email`, `primary` and"
        " `verified` (GitHub: `https://api.github.com/user/emails`): the primary address counts"
        " when it is verified. Without it, the provider gives no address.",
    )
    groups_endpoint: str | None = Field(
        None,
        description="`oauth2`: a list of objects whose `groups_field` values become the"
        " `groups` claim, for `required_claims` and the `upstream` condition (GitHub:"
        " `https://api.github.com/user/orgs?per_page=100`, with the `read:org` scope).",
    )
    groups_field: str = Field("login", description="`oauth2`: see `groups_endpoint`.")
    subject_claim: str = Field(
        "id",
        description="`oauth2`: the user API's field that identifies the account for good (a"
        " string or a number; GitHub: `id`, never `login`, which its user may change).",
    )
    client_id: str = Field(min_length=1, description="Gatehouse's client id at the provider.")
    client_secret: str | None = Field(
        None, description="Gatehouse's client secret there (unset: a public client, PKCE only)."
    )
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] = (
        Field("client_secret_basic", description="How Gatehouse authenticates at its token endpoint.")
    )
    scopes: list[str] = Field(
        default_factory=lambda: list(OIDC_SCOPES),
        description="Scopes asked for: `openid` is required of OpenID providers (by default"
        " `[openid, profile, email]`); a plain OAuth 2.0 provider's must be given (GitHub:"
        " `[read:user, user:email]`).",
    )
    name: str = Field(
        pattern=r"^[^<>]{1,60}$",
        description="The provider's name on pages, e.g. `Example` (\"Sign in with Example\").",
    )
    label: str | None = Field(
        None, pattern=r"^[^<>]{1,80}$",
        description="The button text, when not \"Sign in with <name>\" (translated).",
    )
    icon: str | None = Field(
        None, description="An https URL of a small logo for the button (the pages' CSP allows"
        " https images only)."
    )
    claims: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_CLAIMS),
        description="Where a new account's details come from: our field or claim (`username`,"
        " `email`, `name`, any OIDC claim) → the provider's claim.",
    )
    trust_email_verified: bool = Field(
        True,
        description="Believe the provider's `email_verified`: a new account keeps the address"
        " only when the provider verified it (the address never links accounts either way).",
    )
    trust_mfa: bool = Field(
        True,
        description="Count the provider's multi-factor sign-in (`amr` with `mfa`, or two factor"
        " classes) as two factors here: it then reaches urn:gatehouse:loa:2.",
    )
    required_claims: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="What an upstream account must assert to sign in here at all, e.g."
        " `{hd: example.com}` (a Google Workspace domain) or `{groups: [staff, admins]}`: each"
        " claim must equal one of the values, or (a list claim) contain one. Checked before any"
        " account is created or linked.",
    )
    sync_claims: bool = Field(
        False,
        description="At each sign-in through the provider, update the user's claims that"
        " `claims` maps (not the username or email) from what it says; off: they are copied"
        " once, when the account is created.",
    )

    def admits(self, claims: dict[str, Any]) -> bool:
        """Whether an upstream account with these claims meets `required_claims`."""
        for name, wanted in self.required_claims.items():
            allowed = {wanted} if isinstance(wanted, str) else set(wanted)
            value = claims.get(name)
            values = value if isinstance(value, list) else [value]
            if not any(isinstance(v, str) and v in allowed for v in values):
                return False
        return True

    @field_validator("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                     "emails_endpoint", "groups_endpoint")
    @classmethod
    def _web_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An https URL (the issuer without a query); http only on this machine (tests, a local
        provider): codes, tokens and the client secret travel to these."""
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
            raise ValueError("must be an https URL")
        if parts.query and info.field_name == "issuer":
            raise ValueError("must be an https URL without a query")
        if parts.scheme == "http" and not on_this_machine(parts.hostname):
            raise ValueError("must be https (http only for localhost or a loopback address)")
        return value.rstrip("/")

    @field_validator("icon")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme != "https" or not urlsplit(value).hostname):
            raise ValueError("must be an https URL")
        return value

    @model_validator(mode="after")
    def _fits_the_protocol(self) -> UpstreamProviderSettings:
        endpoints = {name: getattr(self, name) for name in OAUTH2_ENDPOINTS}
        if self.protocol == "oidc":
            if self.issuer is None:
                raise ValueError("an OpenID provider needs its issuer")
            given = [name for name, value in endpoints.items() if value is not None]
            given += sorted({"subject_claim", "groups_field"} & self.model_fields_set)
            if given:
                raise ValueError(f"{', '.join(given)}: give them only with protocol: oauth2 (an"
                                 " OpenID provider's endpoints are in its metadata, its subject"
                                 " is its `sub`)")
            if "openid" not in self.scopes:
                raise ValueError("the scopes of an OpenID provider must include openid")
        else:
            if self.issuer is not None or self.multi_tenant:
                raise ValueError("a plain OAuth 2.0 provider has no issuer: give its endpoints")
            missing = [name for name in OAUTH2_ENDPOINTS[:3] if endpoints[name] is None]
            if "scopes" not in self.model_fields_set:
                missing.append("scopes")  # the OpenID ones would mean nothing to it
            if missing:
                raise ValueError(f"protocol oauth2 needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _secret_fits_the_method(self) -> UpstreamProviderSettings:
        if (self.token_endpoint_auth_method == "none") != (self.client_secret is None):
            raise ValueError("client_secret is needed exactly when the method is not `none`")
        return self


def on_this_machine(host: str) -> bool:
    """`host` (a name or an address) is this machine: localhost or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
