"""Token exchange (RFC 8693) over HTTP: the gateway trades a user's token from demo-rp for one
to call the reports service, in alice's name, with itself as the actor."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.browser import FormBrowser
from tests.e2e.openid_client import OpenIdClient
from tests.e2e.server import (
    CONFIDENTIAL_SECRET,
    GATEWAY_SECRET,
    OTHER_SECRET,
    SERVICE_SECRET,
    RunningServer,
)
from tests.e2e.test_dpop import claims_of, new_key
from tests.e2e.tokens import signed_in_tokens

GATEWAY = ("gateway", GATEWAY_SECRET)
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
ID = "urn:ietf:params:oauth:token-type:id_token"
REPORTS = "https://reports.example/"


async def token(server: RunningServer, auth: tuple[str, str], headers: dict[str, str] | None = None,
                **form: str) -> httpx2.Response:
    async with httpx2.AsyncClient() as http:
        return await http.post(f"{server.issuer}/token", auth=auth, data=form, headers=headers)


async def exchanged(server: RunningServer, subject: str, subject_type: str = ACCESS, **form: str) -> httpx2.Response:
    return await token(server, GATEWAY, grant_type=EXCHANGE, subject_token=subject,
                       subject_token_type=subject_type, **form)


async def gateway_token(server: RunningServer) -> str:
    answer = await token(server, GATEWAY, grant_type="client_credentials")
    return str(answer.json()["access_token"])


async def introspected(server: RunningServer, access_token: str) -> dict[str, Any]:
    async with httpx2.AsyncClient() as http:
        answer = await http.post(f"{server.issuer}/introspect", auth=("service", SERVICE_SECRET),
                                 data={"token": access_token})
    return dict(answer.json())


async def test_a_users_token_is_exchanged_for_another_audience(
    server: RunningServer, browser: FormBrowser,
) -> None:
    _, user = await signed_in_tokens(server, browser, "openid profile")
    answer = await exchanged(server, user["access_token"], audience=REPORTS, scope="openid",
                             actor_token=await gateway_token(server), actor_token_type=ACCESS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    claims = claims_of(body["access_token"])
    original = claims_of(user["access_token"])
    assert (claims["sub"], claims["aud"], claims["client_id"]) == (original["sub"], [REPORTS], "gateway")
    assert claims["scope"] == "openid" and claims["act"] == {"sub": "gateway"}
    # The exchanged token lives on the user's grant: revoking that ends it too.
    assert (await introspected(server, body["access_token"]))["active"] is True
    async with httpx2.AsyncClient() as http:
        await http.post(f"{server.issuer}/revoke", auth=("demo-rp", CONFIDENTIAL_SECRET),
                        data={"token": user["access_token"]})
    assert (await introspected(server, body["access_token"]))["active"] is False


async def test_a_second_exchange_nests_the_actors(server: RunningServer, browser: FormBrowser) -> None:
    _, user = await signed_in_tokens(server, browser, "openid")
    actor = await gateway_token(server)
    first = (await exchanged(server, user["access_token"], actor_token=actor,
                             actor_token_type=ACCESS)).json()["access_token"]
    second = await exchanged(server, first, audience="https://billing.example/", actor_token=actor,
                             actor_token_type=ACCESS)
    assert second.status_code == 200, second.text
    assert claims_of(second.json()["access_token"])["act"] == {"sub": "gateway", "act": {"sub": "gateway"}}


async def test_an_id_token_proves_who_and_grants_only_openid(server: RunningServer, browser: FormBrowser) -> None:
    _, user = await signed_in_tokens(server, browser, "openid profile")
    answer = await exchanged(server, user["id_token"], ID)
    assert answer.status_code == 200, answer.text
    claims = claims_of(answer.json()["access_token"])
    assert claims["scope"] == "openid" and claims["aud"] == [REPORTS]
    widened = await exchanged(server, user["id_token"], ID, scope="openid profile")
    assert widened.json()["error"] == "invalid_scope"


async def test_openid_client_exchanges_with_a_dpop_bound_result(server: RunningServer, browser: FormBrowser) -> None:
    _, user = await signed_in_tokens(server, browser, "openid")
    key = new_key()
    rp = OpenIdClient(server.issuer, "gateway", secret=GATEWAY_SECRET, dpop_jwk=key.as_dict(private=True))
    result = rp.call("tokenExchange", params={
        "subject_token": user["access_token"], "subject_token_type": ACCESS, "resource": REPORTS})
    assert result["token_type"].lower() == "dpop"
    assert claims_of(result["access_token"])["cnf"] == {"jkt": key.thumbprint()}


@pytest.mark.parametrize(("case", "error"), [
    ("an audience outside the policy", "invalid_target"),
    ("a wider scope", "invalid_scope"),
    ("a token of a client outside the policy", "invalid_request"),
    ("a broken subject token", "invalid_request"),
    ("a refresh token type", "invalid_request"),
    ("a refresh token asked for", "invalid_request"),
    ("no subject token type", "invalid_request"),
    ("an actor token of another client", "invalid_request"),
    ("an access token passed as an ID token", "invalid_request"),
])
async def test_what_the_policy_or_the_rfc_forbids_is_refused(
    server: RunningServer, browser: FormBrowser, case: str, error: str,
) -> None:
    _, user = await signed_in_tokens(server, browser, "openid")
    subject = user["access_token"]
    other = (await token(server, ("service", SERVICE_SECRET), grant_type="client_credentials")).json()
    forms: dict[str, dict[str, str]] = {
        "an audience outside the policy": {"audience": "https://evil.example/"},
        "a wider scope": {"scope": "openid email"},
        "a token of a client outside the policy": {"subject_token": other["access_token"]},
        "a broken subject token": {"subject_token": subject[:-4] + "AAAA"},
        "a refresh token type": {"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        "a refresh token asked for": {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        "no subject token type": {"subject_token_type": ""},
        "an actor token of another client": {"actor_token": other["access_token"], "actor_token_type": ACCESS},
        "an access token passed as an ID token": {"subject_token_type": ID},
    }
    form = {"subject_token": subject, "subject_token_type": ACCESS, **forms[case]}
    answer = await token(server, GATEWAY, grant_type=EXCHANGE, **form)
    assert answer.status_code in (400, 401) and answer.json()["error"] == error, answer.text


async def test_a_client_without_the_grant_or_a_policy_may_not_exchange(
    server: RunningServer, browser: FormBrowser,
) -> None:
    _, user = await signed_in_tokens(server, browser, "openid")
    answer = await token(server, ("other-rp", OTHER_SECRET), grant_type=EXCHANGE,
                         subject_token=user["access_token"], subject_token_type=ACCESS)
    assert answer.json()["error"] == "unauthorized_client"


async def test_discovery_lists_the_grant(server: RunningServer) -> None:
    async with httpx2.AsyncClient() as http:
        metadata = (await http.get(f"{server.issuer}/.well-known/openid-configuration")).json()
    assert EXCHANGE in metadata["grant_types_supported"]
