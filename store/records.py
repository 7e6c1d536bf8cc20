"""The documents the stores keep. Plain pydantic models: no driver types past the store."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from store.sign_in_request import SignInRequest

Factor = Literal["knowledge", "possession", "inherence"]


class TokenExchangePolicy(BaseModel):
    """Who a client may exchange tokens of, and for what (RFC 8693): tokens issued to itself or to
    one of `subject_clients`, for new tokens whose `aud` is one of `audiences` (the first by
    default)."""

    subject_clients: list[str] = Field(default_factory=list)
    audiences: list[str] = Field(min_length=1)


class ClientRecord(BaseModel):
    """A relying party, in RFC 7591 client-metadata names (secrets as SHA-256 digests)."""

    client_id: str
    client_secret_sha256: str | None = None
    client_name: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    grant_types: list[str] = Field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = Field(default_factory=lambda: ["code"])
    token_endpoint_auth_method: str = "client_secret_basic"
    scope: str = "openid profile email"
    logo_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    flow: str | None = None
    tags: list[str] = Field(default_factory=list)
    require_consent: bool = False
    offline_access_without_consent: bool = False
    id_token_signed_response_alg: str = "RS256"
    userinfo_signed_response_alg: str | None = None
    may_introspect_others: bool = False
    access_token_format: str = "jwt"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    access_token_audiences: list[str] = Field(default_factory=list)
    refresh_token_idle_lifetime: int = 14 * 24 * 3600
    refresh_token_absolute_lifetime: int = 30 * 24 * 3600
    require_pushed_authorization_requests: bool = False
    request_object_signing_alg: str | None = None
    dpop_bound_access_tokens: bool = False
    profile: str | None = None  # "fapi2": the FAPI 2.0 Security Profile (oidc/profiles.py)
    token_exchange: TokenExchangePolicy | None = None
    # A client that registered itself (RFC 7591): the digest of the token that manages it (RFC
    # 7592). Clients from the config have none, so the registration API cannot change them.
    registration_token_sha256: str | None = None
    registered_at: float | None = None
    # Where the record comes from: gatehouse.yaml (written at each start), the registration
    # endpoint, an administrator, or the server itself (the account page's own record).
    source: Literal["config", "registration", "admin", "builtin"] = "config"

    @property
    def issues_refresh_tokens(self) -> bool:
        return "refresh_token" in self.grant_types

    @property
    def is_public(self) -> bool:
        """A public client cannot keep a secret (RFC 6749 §2.1) and must use PKCE."""
        return self.token_endpoint_auth_method == "none"

    @property
    def allowed_scopes(self) -> set[str]:
        return set(self.scope.split())


# The ids of users an external directory vouches for (steps/user_directory.py) start with it.
DIRECTORY_ID_PREFIX = "dir:"


class UserRecord(BaseModel):
    """A person who can sign in. `id` is the stable `sub`."""

    id: str
    username: str
    email: str | None = None
    email_verified: bool = False
    password_hash: str | None = None
    claims: dict[str, Any] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    terms_accepted: dict[str, float] = Field(default_factory=dict)  # terms version -> when
    devices_forgotten_at: float = 0  # browsers remembered before this no longer skip MFA
    password_changed_at: float | None = None  # None: since the account was created
    disabled_at: float | None = None  # set by an administrator: no sign-in until enabled
    # Steps' own data about the person, by namespace (StepContext.user_data); never a claim.
    step_data: dict[str, dict[str, Any]] = Field(default_factory=dict)
    created_at: float

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def in_directory(self) -> bool:
        """A user directory's person (federation/directory.py): the password is the directory's."""
        return self.id.startswith(DIRECTORY_ID_PREFIX)


class LinkedIdentityRecord(BaseModel):
    """An account at an upstream provider, linked to a user. `id` is the provider's id, a space,
    and the upstream `sub` (unique per issuer, OIDC Core §2)."""

    id: str
    provider: str
    upstream_subject: str
    user_id: str
    label: str = ""  # what the account page shows (the upstream email or name)
    linked_at: float
    last_used_at: float | None = None

    @staticmethod
    def key(provider: str, upstream_subject: str) -> str:
        return f"{provider} {upstream_subject}"


class CredentialRecord(BaseModel):
    """A credential besides the password (TOTP secret, passkey, recovery code), by `kind`."""

    id: str
    user_id: str
    kind: str
    name: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    version: int = 0
    created_at: float
    last_used_at: float | None = None


class ConsentRecord(BaseModel):
    """The scopes a user agreed to share with a client. `id` is `client_id` + space + subject."""

    id: str
    subject: str
    client_id: str
    scopes: list[str]
    updated_at: float

    @staticmethod
    def key(client_id: str, subject: str) -> str:
        return f"{client_id} {subject}"


class AuthEvent(BaseModel):
    """One proof of identity gathered during a run (RFC 8176 `amr` value and its factor class)."""

    method: str
    factor: Factor
    at: float


class Frame(BaseModel):
    """A caller waiting for a sub-flow: the flow, and its `type: flow` step."""

    flow: str
    step: str


class RememberDevice(BaseModel):
    """A run's request that the browser be remembered for its user (the pages set the cookie)."""

    subject: str
    at: float
    until: float


class FlowRunRecord(BaseModel):
    """One login journey in progress: a versioned document, loaded and saved once per request.

    `flow` and `state` say where it is; `stack` holds the callers of the sub-flow it is in. A run
    keeps the flows file version it started with (`flows_version`), across reloads, and the
    sign-in request it serves (`sign_in`), which also says how it finishes.
    """

    id: str
    flow: str
    flows_version: str
    state: str
    stack: list[Frame] = Field(default_factory=list)
    message: str | None = None
    session_sid: str | None = None  # the SSO session a run adds to (step-up, consent) keeps its sid
    remember_device: RememberDevice | None = None
    version: int = 0
    sign_in: SignInRequest
    browser_hash: str
    csrf_token: str
    subject: str | None = None
    auth_events: list[AuthEvent] = Field(default_factory=list)
    scratch: dict[str, dict[str, Any]] = Field(default_factory=dict)
    attempts: dict[str, int] = Field(default_factory=dict)
    log: list[dict[str, Any]] = Field(default_factory=list)
    created_at: float
    deadline: float = 0  # the run may go on until then; kept until `expires_at` to restart it
    expires_at: float


class SessionRecord(BaseModel):
    """An SSO session. `id` is the SHA-256 of the cookie value; `sid` is the public session id."""

    id: str
    sid: str
    subject: str
    auth_time: float
    amr: list[str]
    acr: str
    events: list[AuthEvent] = Field(default_factory=list)
    created_at: float
    expires_at: float
    user_agent: str | None = None  # shown on the account page's list of sessions
    address: str | None = None


class GrantRecord(BaseModel):
    """What a client was given for a user: the parent of a code and of every token issued from it.

    Revoking the grant revokes them all (code reuse, refresh token reuse, revocation).
    """

    id: str
    client_id: str
    subject: str  # the user; the client itself for client_credentials (RFC 9068 §2.2)
    scope: str
    sid: str | None = None
    auth_time: float | None = None
    amr: list[str] = Field(default_factory=list)
    acr: str | None = None
    audience: list[str] = Field(default_factory=list)
    claims: dict[str, list[str]] = Field(default_factory=dict)  # the `claims` parameter's names
    revoked: bool = False
    created_at: float
    expires_at: float

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


class CodeRecord(BaseModel):
    """An authorization code. `id` is the SHA-256 of the code; the code itself is never stored.

    `version` 0 means unused; redeeming makes it 1, and the record stays until it expires so that a
    second redemption is recognised as a replay.
    """

    id: str
    grant_id: str
    client_id: str
    redirect_uri: str
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    dpop_jkt: str | None = None  # RFC 9449 §10: only a proof by this key may redeem it
    version: int = 0
    expires_at: float


class PushedRequestRecord(BaseModel):
    """An authorization request pushed to the PAR endpoint (RFC 9126). `id` is the SHA-256 of
    the reference at the end of its `request_uri`; `params` are the request's parameters as
    validated when pushed. `version` 0 means unused; the authorization endpoint makes it 1."""

    id: str
    client_id: str
    params: dict[str, list[str]]
    version: int = 0
    expires_at: float


class DeviceApproval(BaseModel):
    """What the person decided on the verification page: who they are, from their session, or
    that they refused."""

    denied: bool = False
    subject: str | None = None
    sid: str | None = None
    auth_time: float | None = None
    amr: list[str] = Field(default_factory=list)
    acr: str | None = None


class DeviceCodeRecord(BaseModel):
    """A device authorization (RFC 8628). `id` is the SHA-256 of the device code; `user_code`
    is the code a person types, normalized (8 letters, upper case). `version` 0 means no token
    was issued from it yet; the poll that issues them makes it 1."""

    id: str
    user_code: str
    client_id: str
    scope: str
    interval: int
    last_polled_at: float | None = None
    approval: DeviceApproval | None = None
    version: int = 0
    expires_at: float


class InitialAccessTokenRecord(BaseModel):
    """A token that lets a client register itself (RFC 7591 §3), minted by an operator: `id`
    is its SHA-256; used once (`version` 1)."""

    id: str
    client_id: str = ""  # none yet: `SingleUse.redeem` matches this
    version: int = 0
    expires_at: float


class AccessTokenRecord(BaseModel):
    """A reference (opaque) access token: `id` is the token's SHA-256, `claims` what a JWT would say."""

    id: str
    claims: dict[str, Any]
    expires_at: float


class RefreshTokenRecord(BaseModel):
    """A refresh token (`id` is its SHA-256). Each is used once: rotation issues the next one in
    the same grant, and using a used one again revokes the grant (RFC 9700 §4.14.2)."""

    id: str
    grant_id: str
    client_id: str
    scope: str
    jkt: str | None = None  # a public client's refresh token is bound to its DPoP key (RFC 9449 §5)
    version: int = 0
    created_at: float
    expires_at: float


class SeenRecord(BaseModel):
    """A one-time value (an assertion's jti) remembered until it expires."""

    id: str
    expires_at: float


class ThrottleRecord(BaseModel):
    """Guesses of one kind (password, code...) at one account, from one client address, or both:
    `failures` since the last lockout, `lockouts` in a row, until when it is blocked, and the
    guesses being checked now (`pending`: a token each, with the time its hold lapses should its
    process die). `account`: the user a key of an account is for (None for addresses and unknown
    logins), so that all of an account's keys can be cleared at once."""

    id: str
    account: str | None = None
    pending: dict[str, float] = Field(default_factory=dict)
    failures: int = 0
    lockouts: int = 0
    blocked_until: float = 0
    version: int = 0
    expires_at: float  # forgotten after a quiet while


class SecretRecord(BaseModel):
    """A value generated once and shared by every process (a cookie signing key...)."""

    id: str
    value: str


class SigningKeyRecord(BaseModel):
    """A private signing key: its JWK sealed with `credential_keys` (store/sealing.py). Of an
    algorithm's keys, the one activated last signs; a key is published from creation until
    `retires_at` (when the tokens it signed have expired)."""

    kid: str
    alg: str
    sealed_jwk: str | None = None
    # Stores written before keys were sealed hold the JWK in clear: read, then sealed at start-up.
    private_jwk: dict[str, Any] | None = None
    created_at: float
    activates_at: float = 0
    retires_at: float | None = None

    @model_validator(mode="after")
    def _has_a_key(self) -> SigningKeyRecord:
        if self.sealed_jwk is None and self.private_jwk is None:
            raise ValueError("a signing key needs sealed_jwk (or private_jwk)")
        return self


class AuditRecord(BaseModel):
    """One security event (a sign-in, a failure, an MFA change, a token, a logout): who, from
    where, in which request; kept until `expires_at` (the `audit_retention` setting)."""

    id: str
    at: float
    kind: str
    subject: str | None = None
    client_id: str | None = None
    address: str | None = None
    request_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    expires_at: float


class RunLogRecord(BaseModel):
    """What a finished flow run did, kept for `run_log_retention` so an operator can see why
    each step and branch was taken: the run's event log, without its scratch data."""

    id: str  # the run's id
    flow: str
    client_id: str
    subject: str | None = None
    state: str  # the terminal it reached: done, deny or error
    started_at: float
    finished_at: float
    log: list[dict[str, Any]] = Field(default_factory=list)
    expires_at: float
