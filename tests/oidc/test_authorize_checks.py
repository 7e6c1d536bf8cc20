"""The authorize checks, one rule each, in their security order."""

from __future__ import annotations

import pytest

from core import ErrorPage
from oidc.authorize_request import (
    CHECKS,
    CHECKS_BEFORE_REDIRECT,
    Params,
    build_request,
    check_client_known,
    trusted_client_id,
)
from oidc.errors import OAuth2Error
from store.records import ClientRecord

CONFIDENTIAL = ClientRecord(client_id="rp", redirect_uris=["https://rp.example/cb"], client_secret_sha256="x")
PUBLIC = ClientRecord(client_id="spa", redirect_uris=["https://spa.example/cb"], token_endpoint_auth_method="none")
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def params(**values: str | list[str]) -> Params:
    base: dict[str, str | list[str]] = {
        "client_id": "rp", "redirect_uri": "https://rp.example/cb", "response_type": "code",
        "scope": "openid",
    }
    base.update(values)
    return {k: v if isinstance(v, list) else [v] for k, v in base.items()}


def first_error(p: Params, client: ClientRecord = CONFIDENTIAL) -> str | None:
    for check in CHECKS_BEFORE_REDIRECT + CHECKS:
        try:
            check(p, client)
        except OAuth2Error as error:
            return str(error.error)
    return None


def test_a_valid_request_passes_every_check() -> None:
    assert first_error(params()) is None


def test_client_id_missing_or_repeated_is_an_error_page() -> None:
    for bad in ({}, {"client_id": ["a", "b"]}, {"client_id": [""]}):
        with pytest.raises(ErrorPage):
            trusted_client_id(bad)
    with pytest.raises(ErrorPage):
        check_client_known(params(), None)


@pytest.mark.parametrize("redirect_uri", [
    "https://rp.example/cb/", "https://RP.example/cb", "https://rp.example/cb?x=1",
    "https://rp.example/cb#f", "http://rp.example/cb", "",
])
def test_redirect_uri_must_match_exactly_or_no_redirect_happens(redirect_uri: str) -> None:
    with pytest.raises(ErrorPage):
        first_error(params(redirect_uri=redirect_uri))


def test_repeated_redirect_uri_is_an_error_page() -> None:
    with pytest.raises(ErrorPage):
        first_error(params(redirect_uri=["https://rp.example/cb", "https://rp.example/cb"]))


@pytest.mark.parametrize(("extra", "error"), [
    ({"state": ["a", "b"]}, "invalid_request"),
    ({"request": "x.y.z"}, "request_not_supported"),
    ({"request_uri": "https://x"}, "request_uri_not_supported"),
    ({"response_type": ""}, "invalid_request"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"scope": "profile email"}, "invalid_scope"),
    ({"code_challenge_method": "S256"}, "invalid_request"),
    ({"code_challenge": CHALLENGE, "code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": CHALLENGE}, "invalid_request"),  # method defaults to plain: refused
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "bogus"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "soon"}, "invalid_request"),
])
def test_errors_after_the_redirect_checks(extra: dict[str, str | list[str]], error: str) -> None:
    assert first_error(params(**extra)) == error


def test_public_clients_must_send_a_pkce_challenge() -> None:
    public = params(client_id="spa", redirect_uri="https://spa.example/cb")
    assert first_error(public, PUBLIC) == "invalid_request"
    with_pkce = params(client_id="spa", redirect_uri="https://spa.example/cb",
                       code_challenge=CHALLENGE, code_challenge_method="S256")
    assert first_error(with_pkce, PUBLIC) is None


def test_checks_run_in_security_order() -> None:
    names = [check.__name__ for check in CHECKS_BEFORE_REDIRECT + CHECKS]
    assert names[0] == "check_redirect_uri" and names[1] == "check_no_repeats"
    assert names.index("check_response_type") < names.index("check_scope") < names.index("check_pkce")


def test_scopes_are_narrowed_to_what_the_client_may_ask() -> None:
    request = build_request(params(scope="openid email address email", max_age="30", prompt="login"), CONFIDENTIAL)
    assert request.scope == "openid email"
    assert request.max_age == 30 and request.prompt == ["login"]


def test_claims_asked_one_by_one_are_narrowed_to_the_clients_scopes() -> None:
    """The claims parameter names claims; it does not widen the client's registered scopes."""
    only_openid = CONFIDENTIAL.model_copy(update={"scope": "openid"})
    asked = '{"userinfo": {"email": null, "name": null, "sub": null}, "id_token": {"email": null}}'
    narrowed = build_request(params(claims=asked), only_openid)
    assert narrowed.claims == {"userinfo": ["sub"], "id_token": []}
    # A claim of a scope the client is registered for may be asked without asking the scope.
    kept = build_request(params(claims=asked), CONFIDENTIAL)
    assert kept.claims == {"userinfo": ["email", "name", "sub"], "id_token": ["email"]}
