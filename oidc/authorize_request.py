"""Validation of an authorize request: an ordered list of small checks, one concern each.

The order is the security order. The first two checks decide whether the client and redirect URI
can be trusted; until both pass, errors are shown as a page and never redirected (RFC 6749
§4.1.2.1, RFC 9700 §4.1). After them, errors go back to the client's redirect URI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from pydantic import BaseModel

from core import N_, ErrorPage
from engine import Display, Finish, Prompt, SignInRequest
from oidc.authorization_response import RESPONSE_MODES, ResponseTarget
from oidc.claims import claims_within, requested_claims
from oidc.errors import (
    InvalidRequestError,
    InvalidScopeError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
    printable,
)
from store import ClientRecord

Params = Mapping[str, list[str]]

PROMPT_VALUES = frozenset(Prompt)
AUTHORIZATION_RESPONSE = "authorization_response"  # the completion kind of an authorize request
# RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# RFC 9449 §10: a JWK SHA-256 thumbprint (RFC 7638), base64url without padding.
JWK_THUMBPRINT = re.compile(r"[A-Za-z0-9\-_]{43}")


class AuthorizeRequest(BaseModel):
    """A validated authorize request, kept in the flow run (as its completion's data) until the
    client is answered."""

    client_id: str
    redirect_uri: str
    response_type: str
    scope: str
    state: str | None = None
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: list[str] = []
    max_age: int | None = None
    acr_values: list[str] = []
    login_hint: str | None = None
    ui_locales: str | None = None
    display: str | None = None
    response_mode: str = "query"
    claims: dict[str, list[str]] = {}
    dpop_jkt: str | None = None

    @property
    def target(self) -> ResponseTarget:
        return ResponseTarget(self.redirect_uri, self.response_mode, self.state)

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


def one(params: Params, name: str) -> str | None:
    """The single value of a parameter; an empty value counts as absent (OIDC Core §3.1.2.1)."""
    values = params.get(name) or []
    return values[0] if values and values[0] != "" else None


def trusted_client_id(params: Params) -> str:
    values = params.get("client_id") or []
    if len(values) != 1 or not values[0]:
        raise ErrorPage(N_("Unknown application"), N_("The sign-in link is missing its client_id."))
    return values[0]


def check_client_known(params: Params, client: ClientRecord | None) -> None:
    if client is None:
        raise ErrorPage(
            N_("Unknown application"), N_("This sign-in link names an unknown client_id.")
        )


def check_redirect_uri(params: Params, client: ClientRecord) -> None:
    # Exact string comparison, no normalisation (RFC 9700 §4.1.3, OIDC Core §3.1.2.1).
    values = params.get("redirect_uri") or []
    if len(values) != 1 or values[0] not in client.redirect_uris:
        raise ErrorPage(
            N_("Invalid redirect URI"),
            N_("The redirect_uri in this sign-in link is not registered for this application."),
        )


def check_no_repeats(params: Params, client: ClientRecord) -> None:
    # RFC 6749 §3.1: request parameters MUST NOT be included more than once.
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise InvalidRequestError(f"repeated parameter: {printable(', '.join(repeated))}")


def check_request_objects(params: Params, client: ClientRecord) -> None:
    if one(params, "request"):
        raise RequestNotSupportedError()
    if one(params, "request_uri"):
        raise RequestURINotSupportedError()


def check_response_type(params: Params, client: ClientRecord) -> None:
    response_type = one(params, "response_type")
    if response_type is None:
        raise InvalidRequestError("response_type is required")
    if response_type != "code":
        raise UnsupportedResponseTypeError(printable(response_type))
    if response_type not in client.response_types:
        raise UnauthorizedClientError("this client may not use response_type code")


def check_response_mode(params: Params, client: ClientRecord) -> None:
    mode = one(params, "response_mode")
    if mode is not None and mode not in RESPONSE_MODES:
        raise InvalidRequestError("unsupported response_mode")


def check_scope(params: Params, client: ClientRecord) -> None:
    if "openid" not in (one(params, "scope") or "").split():
        raise InvalidScopeError("the openid scope is required")


def check_pkce(params: Params, client: ClientRecord) -> None:
    challenge, method = one(params, "code_challenge"), one(params, "code_challenge_method")
    if challenge is None:
        if method is not None:
            raise InvalidRequestError("code_challenge_method without code_challenge")
        if client.is_public:
            # RFC 9700 §2.1.1: public clients MUST use PKCE.
            raise InvalidRequestError("code_challenge is required for this client (PKCE S256)")
        return
    if method != "S256":
        # RFC 7636 §4.4.1; `plain` offers no protection against a stolen code (RFC 9700 §2.1.1).
        raise InvalidRequestError("code_challenge_method must be S256")
    if not PKCE_CHALLENGE.fullmatch(challenge):
        raise InvalidRequestError("code_challenge is malformed")


def check_dpop_jkt(params: Params, client: ClientRecord) -> None:
    jkt = one(params, "dpop_jkt")
    if jkt is not None and not JWK_THUMBPRINT.fullmatch(jkt):
        raise InvalidRequestError("dpop_jkt must be a JWK SHA-256 thumbprint")


def check_claims_parameter(params: Params, client: ClientRecord) -> None:
    try:
        requested_claims(one(params, "claims"))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise InvalidRequestError(
            "the claims parameter is not valid JSON of OIDC Core 5.5"
        ) from exc


def check_prompt(params: Params, client: ClientRecord) -> None:
    values = (one(params, "prompt") or "").split()
    if unknown := set(values) - PROMPT_VALUES:
        raise InvalidRequestError(f"unsupported prompt value {printable(sorted(unknown)[0])}")
    if "none" in values and len(values) > 1:
        # OIDC Core §3.1.2.1: none with any other value is an error.
        raise InvalidRequestError("prompt=none cannot be combined with other values")


def check_max_age(params: Params, client: ClientRecord) -> None:
    value = one(params, "max_age")
    if value is not None and not (value.isascii() and value.isdigit() and len(value) <= 10):
        raise InvalidRequestError("max_age must be a non-negative integer")


# The order is the security order: read it top to bottom.
CHECKS_BEFORE_REDIRECT: list[Callable[[Params, ClientRecord], None]] = [check_redirect_uri]
CHECKS: list[Callable[[Params, ClientRecord], None]] = [
    check_no_repeats,
    check_request_objects,
    check_response_type,
    check_response_mode,
    check_scope,
    check_pkce,
    check_dpop_jkt,
    check_claims_parameter,
    check_prompt,
    check_max_age,
]


def build_request(params: Params, client: ClientRecord) -> AuthorizeRequest:
    """The request as validated: scopes narrowed to those the client may ask for (RFC 6749 §3.3),
    and the claims asked one by one to those of the client's registered scopes.

    `offline_access` is kept only for clients that may use refresh tokens (OIDC Core §11); the
    client's registration is the condition that permits offline access until consent exists.
    """
    scopes = [
        s
        for s in dict.fromkeys((one(params, "scope") or "").split())
        if s == "openid"
        or (s in client.allowed_scopes and (s != "offline_access" or client.issues_refresh_tokens))
    ]
    max_age = one(params, "max_age")
    return AuthorizeRequest(
        client_id=client.client_id,
        redirect_uri=one(params, "redirect_uri") or "",
        response_type="code",
        scope=" ".join(scopes),
        state=one(params, "state"),
        nonce=one(params, "nonce"),
        code_challenge=one(params, "code_challenge"),
        code_challenge_method=one(params, "code_challenge_method"),
        prompt=(one(params, "prompt") or "").split(),
        max_age=int(max_age) if max_age is not None else None,
        acr_values=(one(params, "acr_values") or "").split(),
        login_hint=one(params, "login_hint"),
        ui_locales=one(params, "ui_locales"),
        display=one(params, "display"),
        response_mode=one(params, "response_mode") or "query",
        claims=claims_within(requested_claims(one(params, "claims")), client.allowed_scopes),
        dpop_jkt=one(params, "dpop_jkt"),
    )


def sign_in_request(req: AuthorizeRequest) -> SignInRequest:
    """What the authorize request asks of the sign-in. The request itself is kept as the data of
    its completion, which answers the client from it."""
    return SignInRequest(
        client_id=req.client_id,
        scopes=req.scopes,
        claims=req.claims,
        acr_values=req.acr_values,
        max_age=req.max_age,
        prompt={Prompt(value) for value in req.prompt},
        login_hint=req.login_hint,
        ui_locales=(req.ui_locales or "").split(),
        # `display` only suggests how pages look (OIDC Core §3.1.2.1): an unknown value is ignored.
        display=next((d for d in Display if d.value == req.display), None),
        finish=Finish(kind=AUTHORIZATION_RESPONSE, data=req.model_dump()),
    )


def revalidate(req: AuthorizeRequest, client: ClientRecord) -> AuthorizeRequest:
    """The stored request checked again against the client as it is now: a run can outlive a
    change of the client's registration (a removed redirect URI must not receive a code)."""
    params = request_params(req)
    for check in CHECKS_BEFORE_REDIRECT + CHECKS:
        check(params, client)
    return build_request(params, client)


def request_params(req: AuthorizeRequest) -> dict[str, list[str]]:
    """The authorize parameters that make this request again."""
    params: dict[str, list[str]] = {
        name: [value if isinstance(value, str) else str(value)]
        for name, value in req.model_dump(exclude={"prompt", "claims", "acr_values"}).items()
        if value is not None
    }
    if req.prompt:
        params["prompt"] = [" ".join(req.prompt)]
    if req.acr_values:
        params["acr_values"] = [" ".join(req.acr_values)]
    if req.claims:
        members = {target: dict.fromkeys(names) for target, names in req.claims.items()}
        params["claims"] = [json.dumps(members)]
    return params


def error_target(params: Params) -> ResponseTarget:
    """Where errors go once the redirect URI is trusted, before the rest is validated."""
    mode = "form_post" if one(params, "response_mode") == "form_post" else "query"
    return ResponseTarget(params["redirect_uri"][0], mode, one(params, "state"))
