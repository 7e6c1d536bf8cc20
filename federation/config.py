"""How an upstream OpenID provider is declared in the config (`upstream_providers`)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_CLAIMS = {"username": "preferred_username", "email": "email", "name": "name"}


class UpstreamProviderSettings(BaseModel):
    """An upstream OpenID provider people may sign in with (the `federated` flow step).

    Register `{issuer}/federation/{id}/callback` as the redirect URI at the provider.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
        description="Names the provider in flows.yaml and in its redirect URI.",
    )
    issuer: str = Field(
        description="The provider's issuer; its metadata is read from"
        " `{issuer}/.well-known/openid-configuration` (OIDC Discovery).",
    )
    client_id: str = Field(min_length=1, description="Gatehouse's client id at the provider.")
    client_secret: str | None = Field(
        None, description="Gatehouse's client secret there (unset: a public client, PKCE only)."
    )
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] = (
        Field("client_secret_basic", description="How Gatehouse authenticates at its token endpoint.")
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "profile", "email"],
        description="Scopes asked for; `openid` is required.",
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

    @field_validator("issuer")
    @classmethod
    def _web_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
            raise ValueError("must be an http(s) URL without a query")
        return value.rstrip("/")

    @field_validator("icon")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme != "https" or not urlsplit(value).hostname):
            raise ValueError("must be an https URL")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid(cls, scopes: list[str]) -> list[str]:
        if "openid" not in scopes:
            raise ValueError("must include openid")
        return scopes

    @model_validator(mode="after")
    def _secret_fits_the_method(self) -> UpstreamProviderSettings:
        if (self.token_endpoint_auth_method == "none") != (self.client_secret is None):
            raise ValueError("client_secret is needed exactly when the method is not `none`")
        return self
