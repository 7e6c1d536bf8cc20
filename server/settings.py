"""Server settings, from a YAML file and `GATEHOUSE_*` environment variables.

Every setting documents itself: `gatehouse config --doc` prints the table.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from core import OutboundHttp
from engine import YamlSourceError, parse_yaml, pydantic_problems
from federation import DIRECTORY_NAME, LdapGroups, LdapOptions, UpstreamProviderSettings
from oidc import FAPI2, ClientPolicy
from steps import RelyingParty
from store import Sealer

Item = TypeVar("Item", bound=BaseModel)


def distinct(items: list[Item], field: str) -> list[Item]:
    """`items`, unless two share `field`: then an error at the later one's `field`, so that the
    message points at its line rather than at the whole list."""
    first: dict[Any, int] = {}
    problems: list[InitErrorDetails] = []
    for index, item in enumerate(items):
        value = getattr(item, field)
        if value in first:
            problems.append(InitErrorDetails(
                type=PydanticCustomError(
                    "duplicate", f"{{value}} is the {field} of entry {{first}} too",
                    {"value": repr(value), "first": first[value]},
                ),
                loc=(index, field), input=value,
            ))
        first.setdefault(value, index)
    if problems:
        raise ValidationError.from_exception_data("duplicates", problems)
    return items


class ClientSettings(ClientPolicy):
    """A client in gatehouse.yaml: its metadata and policies (`ClientPolicy`), and its secret."""

    client_secret: str | None = Field(
        None, min_length=32, description="At least 32 characters; stored only as a SHA-256 digest."
    )

    @model_validator(mode="after")
    def _credentials_fit_the_method(self) -> ClientSettings:
        method = self.token_endpoint_auth_method
        if method.startswith("client_secret") and not self.client_secret:
            raise ValueError(f"{method} needs a client_secret")
        return self


class Settings(BaseModel):
    """Everything the server reads at start-up."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(
        description="The URL people and clients reach this server at (http only for local"
        " development); every published URL starts with it, and it is never taken from Host.",
    )
    store: str = Field(
        "sqlite:///gatehouse.db",
        description="sqlite:///relative.db, sqlite:////abs.db, or a MongoDB connection string"
        " (mongodb://host1,host2/database?replicaSet=rs0; see docs/deploy.md).",
    )
    flows_file: str = Field(
        "flows.yaml", description="The sign-in journeys, relative to this file."
    )
    host: str = Field("127.0.0.1", description="Address `gatehouse serve` listens on.")
    port: int = Field(8000, description="Port `gatehouse serve` listens on.")
    code_lifetime: int = Field(60, ge=1, le=600, description="Seconds an authorization code lives.")
    pushed_request_lifetime: int = Field(
        60, ge=5, le=600,
        description="Seconds a pushed authorization request's request_uri may be used (RFC 9126).",
    )
    require_pushed_authorization_requests: bool = Field(
        False, description="Every client must push its authorization requests (RFC 9126)."
    )
    profile: Literal["fapi2"] | None = Field(
        None,
        description="fapi2: the FAPI 2.0 Security Profile for every client (docs/fapi2.md); the"
        " issuer should then be https.",
    )
    registration: Literal["off", "open", "token"] = Field(
        "off",
        description="Dynamic Client Registration (RFC 7591, docs/registration.md): off; open (any"
        " client may register, within `open_registration_grant_types`); or token (an initial"
        " access token from `gatehouse clients token` is required).",
    )
    open_registration_grant_types: list[str] = Field(
        default_factory=lambda: ["authorization_code", "refresh_token"],
        description="The grant types a client may register for without an initial access token"
        " (with one, any).",
    )
    dpop_nonces: bool = Field(
        False,
        description="DPoP proofs must carry a nonce the server gave (`DPoP-Nonce`, RFC 9449 §8),"
        " which limits how long a proof made ahead of time can be used; nonces rotate every five"
        " minutes.",
    )
    access_token_lifetime: int = Field(600, ge=60, description="Seconds an access token lives.")
    id_token_lifetime: int = Field(3600, ge=60, description="Seconds an ID token lives.")
    session_lifetime: int = Field(8 * 3600, ge=60, description="Seconds an SSO session lives.")
    max_sessions_per_user: int = Field(
        50, ge=1, le=10000,
        description="Live SSO sessions one user may have: a new one ends the oldest past it"
        " (back-channel logout included), so that signing in again and again cannot grow them"
        " without bound.",
    )
    run_lifetime: int = Field(1800, ge=60, description="Seconds a sign-in journey may take.")
    runs_per_minute_per_address: int = Field(
        300, ge=0,
        description="Sign-in journeys one client network (an IPv4 address, an IPv6 /64) may begin"
        " a minute in each process, in bursts of as many (0: no limit). Each stored journey is"
        " kept for run_lifetime plus an hour, so this bounds what one network can make the store"
        " hold; past it the browser gets a 429 page. Raise it for many people behind one NAT.",
    )
    account_reauth_seconds: int = Field(
        300, ge=30, description="Seconds after signing in that the account page allows changes"
        " (adding or removing a second factor, a new password), with the second factor for users"
        " who have one; later, it asks to sign in again.",
    )
    password_hash_threads: int = Field(2, ge=1, description="Threads for argon2 hashing.")
    outbound_allow_private_addresses: bool = Field(
        False,
        description="Let server-to-server requests (back-channel logout, client jwks_uri, upstream"
        " providers) reach loopback and private addresses. For tests and closed networks only: it weakens SSRF protection.",
    )
    outbound_ca_file: FilePath | None = Field(
        None,
        description="CA certificates (PEM) to trust, besides the public ones, for requests to"
        " other servers (back-channel logout, client jwks_uri, upstream providers): an"
        " organisation's own CA.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses (or CIDR networks) of the load balancers in front of the server:"
        " only from them is X-Forwarded-For believed, so that throttling counts the person's"
        " address rather than the balancer's. Empty: the connection's own address is used.",
    )
    max_request_bytes: int = Field(
        64 * 1024, ge=1024, le=16 * 1024 * 1024,
        description="The largest request body accepted; a larger one is answered 413 before it is"
        " read. Forms and token requests are small: the default leaves room for a large request"
        " object or client assertion.",
    )
    max_header_bytes: int = Field(
        32 * 1024, ge=4096, le=1024 * 1024,
        description="The largest request head (request line and headers); a larger one is"
        " answered 431 and its connection closed.",
    )
    request_timeout: float = Field(
        30, gt=0, le=600,
        description="Seconds a request may take to send its body, and the server to answer it;"
        " a slower body is cut off (408), a slower answer ends as 503.",
    )
    keep_alive_timeout: float = Field(
        5, gt=0, le=300, description="Seconds an idle keep-alive connection stays open."
    )
    header_timeout: float = Field(
        10, gt=0, le=300,
        description="Seconds a client has to send a request's head (request line and headers),"
        " from connecting, or on a keep-alive connection from the head's first byte; a slower"
        " head is answered 408 and its connection closed (a new connection that sent nothing is"
        " just closed).",
    )
    max_concurrency: int = Field(
        1000, ge=1,
        description="Connections and requests one worker process serves at once; beyond it, the"
        " connections idle the longest are closed to make room, else new requests are answered"
        " 503 at once instead of queueing without bound.",
    )
    key_refresh_interval: float = Field(
        60, gt=0, description="Seconds between re-reads of the signing keys from the store."
    )
    purge_interval: float = Field(
        600, ge=1, le=86400,
        description="Seconds between purges of expired documents (runs, codes, sessions...),"
        " 500 at a time, pausing after each batch as long as it took.",
    )
    flows_reload_interval: float = Field(
        2, ge=0, description="Seconds between checks of flows_file for changes (0: only on SIGHUP)."
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text, or json: one JSON object per line, each with the `request_id` that"
        " the response's X-Request-Id header carries (see docs/operations.md).",
    )
    metrics_token: str | None = Field(
        None, min_length=16,
        description="At least 16 characters; when set, GET /metrics answers only"
        " `Authorization: Bearer <token>`. Unset: anyone who reaches the server may read the"
        " metrics (keep /metrics off the internet at the load balancer then).",
    )
    audit_retention: int = Field(
        90 * 24 * 3600, ge=0,
        description="Seconds the store keeps each audit event (sign-ins, failures, MFA changes,"
        " tokens, logouts) before purging it: 90 days by default; 0 keeps none in the store"
        " (with audit_stream, the trail lives there).",
    )
    audit_stream: str | None = Field(
        None, min_length=1,
        description="Also write every audit event, as one JSON line, to this file (appended to"
        " by every process, reopened when logrotate moves it), or to standard output with `-`,"
        " for a log pipeline or SIEM to keep; the console and admin API read only the store's.",
    )
    directories: dict[str, LdapOptions] = Field(
        default_factory=dict,
        description="User directories by name (LDAP: OpenLDAP or Active Directory), for the"
        " `password` step's `directory` option; see docs/directories.md.",
    )
    admin_group: str = Field(
        "admins", min_length=1,
        description="Users in this group may sign in to the admin console at /admin (with a"
        " second factor).",
    )
    run_log_retention: int = Field(
        24 * 3600, ge=0,
        description="Seconds the store keeps the event log of each finished sign-in journey"
        " (which steps it took and why), for the admin console and API; 0 keeps none.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for email codes; unset: codes are written to the log."
    )
    smtp_port: int = Field(587, description="SMTP port (587 STARTTLS, 465 TLS).")
    smtp_tls: bool = Field(False, description="Implicit TLS (port 465); else STARTTLS.")
    smtp_starttls: bool = Field(
        True, description="Require STARTTLS (off only for a relay on a trusted local network)."
    )
    smtp_username: str | None = Field(None, description="SMTP login, if the server needs one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    mail_from: str = Field(
        "Gatehouse <no-reply@localhost>", description="The From address of emails."
    )
    credential_keys: list[str] = Field(
        default_factory=list,
        description="Fernet keys (`gatehouse keys new-sealing-key`) sealing TOTP secrets and private"
        " signing keys at rest; the first seals, all open (rotation: signing keys are sealed again"
        " under the first at start-up). Unset: a key is generated and kept in the store, which"
        " protects nothing if the store leaks.",
    )
    webauthn_rp_id: str | None = Field(
        None, description="The WebAuthn relying party id (a domain); unset: the issuer's host."
    )
    webauthn_rp_name: str = Field("Gatehouse", description="The name authenticators show.")
    webauthn_origins: list[str] = Field(
        default_factory=list,
        description="Origins passkey pages are served from; unset: the issuer's origin.",
    )
    demo: bool = Field(
        False,
        description="Serve the demo relying party at /demo; its client (`demo_client_id`) may"
        " then return to {issuer}/demo/callback and {issuer}/demo/ on whatever port.",
    )
    demo_client_id: str = Field("demo-rp", description="The client the demo signs in with.")
    clients: list[ClientSettings] = Field(
        default_factory=list, description="Relying parties: RFC 7591 metadata names plus `flow`."
    )
    upstream_providers: list[UpstreamProviderSettings] = Field(
        default_factory=list,
        description="OpenID providers people may sign in with (the `federated` step); see"
        " docs/federation.md.",
    )

    @field_validator("clients")
    @classmethod
    def _distinct_client_ids(cls, clients: list[ClientSettings]) -> list[ClientSettings]:
        return distinct(clients, "client_id")

    @field_validator("upstream_providers")
    @classmethod
    def _distinct_ids(
        cls, providers: list[UpstreamProviderSettings]
    ) -> list[UpstreamProviderSettings]:
        return distinct(providers, "id")

    @field_validator("directories")
    @classmethod
    def _directory_names(cls, directories: dict[str, LdapOptions]) -> dict[str, LdapOptions]:
        for name in directories:
            if not DIRECTORY_NAME.fullmatch(name):
                raise ValueError(f"{name!r}: a directory's name is letters, digits, _ . and -")
        return directories

    @model_validator(mode="after")
    def _every_client_under_the_profile(self) -> Settings:
        if self.profile == FAPI2:
            for client in self.clients:
                client.check_fapi2()
        return self

    @model_validator(mode="after")
    def _demo_client_follows_the_issuer(self) -> Settings:
        if self.demo:
            for client in self.clients:
                if client.client_id == self.demo_client_id:
                    for uris, uri in ((client.redirect_uris, f"{self.issuer}/demo/callback"),
                                      (client.post_logout_redirect_uris, f"{self.issuer}/demo/")):
                        if uri not in uris:
                            uris.append(uri)
        return self

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        # OIDC Discovery §3: https, no query or fragment (http allowed for local development).
        if not value.startswith(("https://", "http://")) or "?" in value or "#" in value:
            raise ValueError("must be an http(s) URL without query or fragment")
        return value.rstrip("/")

    @field_validator("credential_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            try:
                Sealer([key])
            except ValueError as exc:
                raise ValueError("each key is 32 random bytes in base64url (44 characters)") from exc
        return keys

    def outbound_http(self) -> OutboundHttp:
        """How this server fetches what clients and the config name (core/outbound.py)."""
        return OutboundHttp(
            allow_private_addresses=self.outbound_allow_private_addresses,
            ca_file=str(self.outbound_ca_file) if self.outbound_ca_file else None,
        )

    @property
    def relying_party(self) -> RelyingParty:
        """The WebAuthn relying party: by default the issuer's host and origin."""
        parts = urlsplit(self.issuer)
        origin = f"{parts.scheme}://{parts.netloc}"
        return RelyingParty(
            id=self.webauthn_rp_id or parts.hostname or "localhost",
            name=self.webauthn_rp_name,
            origins=tuple(self.webauthn_origins or [origin]),
        )

    def path(self, relative: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        return (self.base_dir / relative).resolve()

    base_dir: Path = Field(
        Path("."), exclude=True, description="Set from the config file's folder."
    )
    config_file: Path | None = Field(
        None, exclude=True, description="Set to the config file read (read again on SIGHUP)."
    )


ENV_OVERRIDES = (
    "issuer", "store", "flows_file", "host", "port", "demo", "smtp_host", "smtp_port",
    "smtp_username", "smtp_password", "mail_from", "log_format", "metrics_token",
)


class SettingsError(Exception):
    pass


def config_path(config_file: str | Path | None = None) -> Path:
    """The config file: `config_file`, else `GATEHOUSE_CONFIG`, else ./gatehouse.yaml."""
    return Path(config_file or os.environ.get("GATEHOUSE_CONFIG") or "gatehouse.yaml")


def load_settings(config_file: str | Path | None = None) -> Settings:
    """Read the config file (`GATEHOUSE_CONFIG`, else ./gatehouse.yaml if present), then apply
    `GATEHOUSE_ISSUER`, `GATEHOUSE_STORE`, ... from the environment."""
    path = config_path(config_file)
    data: dict[str, Any] = {}
    source = None
    if path.exists():
        try:
            source = parse_yaml(path.read_text(encoding="utf-8"), str(path))
        except YamlSourceError as exc:
            raise SettingsError(str(exc)) from exc
        data = dict(source.data or {})
    elif config_file is not None:
        raise SettingsError(f"{path}: no such config file")
    for name in ENV_OVERRIDES:
        value = os.environ.get(f"GATEHOUSE_{name.upper()}")
        if value is not None:
            data[name] = value
    data["base_dir"] = path.parent.resolve()
    data["config_file"] = path.resolve() if path.exists() else None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        if source is None:  # no file to point into: the settings' names say where
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise SettingsError(
                "\n".join([f"{path}: no such file; from the environment:", *problems])
            ) from exc
        raise SettingsError("\n".join(map(str, pydantic_problems(source, exc)))) from exc


def settings_doc() -> str:
    """Tables of every setting, and of every client setting, with defaults and descriptions."""
    return "\n\n".join([
        _model_table(Settings), "Each entry of `clients`:", _model_table(ClientSettings),
        "Each entry of `upstream_providers`:", _model_table(UpstreamProviderSettings),
        "Each directory of `directories` (docs/directories.md):", _model_table(LdapOptions),
        "Its `groups`:", _model_table(LdapGroups),
    ])


def _model_table(model: type[BaseModel]) -> str:
    rows = ["| setting | default | description |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            made = field.default_factory()  # type: ignore[call-arg]
            shown = made.model_dump() if isinstance(made, BaseModel) else made
            default = f"`{shown!r}`"
        else:
            default = f"`{field.default!r}`"
        rows.append(f"| `{name}` | {default} | {field.description or ''} |")
    return "\n".join(rows)


__all__ = [
    "ClientSettings", "Settings", "SettingsError", "config_path", "load_settings", "settings_doc",
]
