"""Client metadata (RFC 7591 §2): what a client is, in the RFC's names, checked the same way
whether it comes from gatehouse.yaml or the admin API (`ClientPolicy` adds what only an operator
may set) or from a client registering itself (oidc/client_registration.py, which adds its own
rules)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from oidc.client_auth import AUTH_METHODS_SUPPORTED
from oidc.profiles import FAPI2, fapi2_problems
from store import TokenExchangePolicy

UNSAFE_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})


class ClientMetadata(BaseModel):
    """The metadata a client may have: a registration may set all of it (RFC 7591 §2: metadata
    the server does not know is ignored)."""

    model_config = ConfigDict(extra="ignore")

    client_name: str | None = Field(None, description="Shown on the sign-in pages.")
    redirect_uris: list[str] = Field(
        default_factory=list,
        description="Exact redirect URIs; no fragment (RFC 6749 §3.1.2). Required with"
        " authorization_code (a device or service client has none).",
    )
    post_logout_redirect_uris: list[str] = Field(
        default_factory=list, description="Where logout may return to (exact match)."
    )
    grant_types: list[str] = Field(
        default_factory=lambda: ["authorization_code"],
        description="authorization_code, plus refresh_token to receive refresh tokens.",
    )
    response_types: list[str] = Field(default_factory=lambda: ["code"], description="code.")
    token_endpoint_auth_method: str = Field(
        "client_secret_basic",
        description="client_secret_basic, client_secret_post, private_key_jwt (a JWT signed with"
        " the key in `jwks` or `jwks_uri`), or none (public client, PKCE).",
    )
    scope: str = Field(
        "openid profile email",
        description="Scopes the client may ask for (offline_access for refresh tokens).",
    )
    logo_uri: str | None = Field(None, description="An https logo shown on the sign-in pages.")
    policy_uri: str | None = Field(None, description="Linked from the sign-in pages.")
    tos_uri: str | None = Field(None, description="Linked from the sign-in pages.")
    id_token_signed_response_alg: Literal["RS256", "ES256"] = Field(
        "RS256", description="How ID tokens for this client are signed (RFC 7591)."
    )
    userinfo_signed_response_alg: Literal["RS256", "ES256"] | None = Field(
        None, description="Set to get UserInfo as a signed JWT instead of JSON."
    )
    jwks: dict[str, Any] | None = Field(
        None, description="The client's public keys (a JWK Set), for private_key_jwt."
    )
    jwks_uri: str | None = Field(
        None, description="Where the client publishes its keys, for private_key_jwt."
    )
    backchannel_logout_uri: str | None = Field(
        None,
        description="Where logout tokens are posted when a session ends (Back-Channel Logout).",
    )
    backchannel_logout_session_required: bool = Field(
        False, description="The client needs `sid` in logout tokens (always sent)."
    )
    dpop_bound_access_tokens: bool = Field(
        False,
        description="Every token request of this client must carry a DPoP proof, so that its"
        " tokens are always bound to its key (RFC 9449 §5.2).",
    )
    request_object_signing_alg: Literal["RS256", "PS256", "ES256"] | None = Field(
        None,
        description="The only algorithm this client's signed request objects (JAR, RFC 9101) may"
        " use; unset: RS256, PS256 or ES256. They are checked against `jwks` or `jwks_uri`.",
    )
    require_pushed_authorization_requests: bool = Field(
        False,
        description="Authorization requests must first be pushed to the PAR endpoint (RFC 9126),"
        " so that none of their parameters travel through the browser.",
    )

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _absolute_without_fragment(cls, uris: list[str]) -> list[str]:
        # RFC 6749 §3.1.2: absolute URIs, no fragment. Custom schemes are for native apps (RFC 8252).
        for uri in uris:
            parts = urlsplit(uri)
            if not parts.scheme or parts.fragment or "#" in uri:
                raise ValueError(f"{uri!r} must be an absolute URI without a fragment")
            if parts.scheme.lower() in UNSAFE_SCHEMES:
                raise ValueError(f"{uri!r} uses a scheme that cannot be a redirect target")
        return uris

    @field_validator("logo_uri", "policy_uri", "tos_uri", "backchannel_logout_uri", "jwks_uri")
    @classmethod
    def _web_url(cls, uri: str | None) -> str | None:
        if uri is not None and urlsplit(uri).scheme not in ("https", "http"):
            raise ValueError("must be an http(s) URL")
        return uri

    @field_validator("token_endpoint_auth_method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in AUTH_METHODS_SUPPORTED:
            raise ValueError(f"must be one of {', '.join(AUTH_METHODS_SUPPORTED)}")
        return value

    @model_validator(mode="after")
    def _keys_fit_their_uses(self) -> ClientMetadata:
        if self.token_endpoint_auth_method == "private_key_jwt" and (self.jwks is None) == (
            self.jwks_uri is None
        ):
            raise ValueError("private_key_jwt needs either jwks or jwks_uri")
        if self.request_object_signing_alg and self.jwks is None and self.jwks_uri is None:
            raise ValueError("request_object_signing_alg needs jwks or jwks_uri")
        if "authorization_code" in self.grant_types and not self.redirect_uris:
            raise ValueError("authorization_code needs at least one redirect_uri")
        if self.jwks is not None:
            try:
                keys = KeySet.import_key_set(self.jwks)  # type: ignore[arg-type]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"jwks is not a JWK Set: {exc}") from exc
            if any(key.is_private for key in keys):
                raise ValueError("jwks must hold public keys only")
        return self


class ClientPolicy(ClientMetadata):
    """A client, in RFC 7591 client-metadata names, plus what only an operator may set (in
    gatehouse.yaml or through the admin API): its id, the flow its users sign in through, and
    its policies."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=200, description="The client's identifier.")
    flow: str | None = Field(None, description="A flow in flows.yaml; the default flow if unset.")
    tags: list[str] = Field(
        default_factory=list, description="Labels the `client_tag` flow condition can test."
    )
    require_consent: bool = Field(
        False, description="Ask users to agree to the scopes (remembered per scope set)."
    )
    offline_access_without_consent: bool = Field(
        False,
        description="Give refresh tokens for `offline_access` without asking (trusted first-party"
        " clients; OIDC Core §11 otherwise requires consent).",
    )
    access_token_format: Literal["jwt", "reference"] = Field(
        "jwt",
        description="jwt (RFC 9068, checked offline by resource servers) or reference (opaque,"
        " checked by introspection; revocation takes effect everywhere at once).",
    )
    may_introspect_others: bool = Field(
        False,
        description="A resource server that may introspect access tokens issued to other clients"
        " (RFC 7662 §4); others see only their own tokens.",
    )
    access_token_audiences: list[str] = Field(
        default_factory=list,
        description="Resource indicators (RFC 8707) this client may ask tokens for; the first is"
        " the default `aud` of its client_credentials tokens.",
    )
    refresh_token_idle_lifetime: int = Field(
        14 * 24 * 3600, ge=60, description="Seconds a refresh token lives unused (sliding)."
    )
    refresh_token_absolute_lifetime: int = Field(
        30 * 24 * 3600, ge=60, description="Seconds after sign-in when refreshing stops."
    )
    token_exchange: TokenExchangePolicy | None = Field(
        None,
        description="Token exchange (RFC 8693, with its grant type in grant_types):"
        " `subject_clients`, whose users' tokens this client may exchange besides its own, and"
        " `audiences` it may ask the new tokens for (the first by default).",
    )
    profile: Literal["fapi2"] | None = Field(
        None,
        description="fapi2: the FAPI 2.0 Security Profile for this client (PAR, PKCE S256, DPoP,"
        " private_key_jwt, PS256 or ES256, codes of 60 s at most; docs/fapi2.md).",
    )

    def check_fapi2(self) -> None:
        """Raise unless the registration can hold under the FAPI 2.0 profile."""
        problems = fapi2_problems(
            self.token_endpoint_auth_method, self.id_token_signed_response_alg,
            self.userinfo_signed_response_alg, self.request_object_signing_alg,
        )
        if problems:
            raise ValueError(f"client {self.client_id} under FAPI 2.0: {'; '.join(problems)}")

    @model_validator(mode="after")
    def _fits_its_profile(self) -> ClientPolicy:
        if self.profile == FAPI2:
            self.check_fapi2()
        return self
