"""OpenID Provider metadata (OIDC Discovery §3, RFC 8414) and the JWK Set."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from engine import ACR_VALUES_SUPPORTED
from oidc.authorization_response import RESPONSE_MODES
from oidc.claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED
from oidc.client_assertion import ASSERTION_ALGS
from oidc.client_auth import AUTH_METHODS_SUPPORTED, CONFIDENTIAL_AUTH_METHODS
from oidc.client_registration import REGISTRATION_PATH
from oidc.device_authorization import DEVICE_AUTHORIZATION_PATH
from oidc.dpop import DPOP_ALGS
from oidc.http import Document, response_of
from oidc.keys import SUPPORTED_ALGS
from oidc.profiles import FAPI2
from oidc.provider import Provider, current_provider
from oidc.pushed_requests import PAR_PATH
from oidc.request_objects import REQUEST_OBJECT_ALGS
from oidc.token import GRANT_TYPES_SUPPORTED

blueprint = Blueprint("discovery", __name__)


def provider_metadata(provider: Provider) -> dict[str, Any]:
    """Only what the server really does: every value here is implemented and tested."""
    return {
        "issuer": provider.issuer,
        "authorization_endpoint": provider.url("/authorize"),
        "token_endpoint": provider.url("/token"),
        "pushed_authorization_request_endpoint": provider.url(PAR_PATH),
        "device_authorization_endpoint": provider.url(DEVICE_AUTHORIZATION_PATH),
        **({"registration_endpoint": provider.url(REGISTRATION_PATH)}
           if provider.registration != "off" else {}),
        "require_pushed_authorization_requests": (
            provider.require_pushed_authorization_requests or provider.profile == FAPI2
        ),
        "userinfo_endpoint": provider.url("/userinfo"),
        "end_session_endpoint": provider.url("/logout"),
        "revocation_endpoint": provider.url("/revoke"),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED,
        "introspection_endpoint": provider.url("/introspect"),
        "introspection_endpoint_auth_methods_supported": CONFIDENTIAL_AUTH_METHODS,
        "jwks_uri": provider.url("/jwks"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": GRANT_TYPES_SUPPORTED,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SUPPORTED_ALGS),
        "userinfo_signing_alg_values_supported": list(SUPPORTED_ALGS),
        "token_endpoint_auth_methods_supported": AUTH_METHODS_SUPPORTED,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "claims_supported": CLAIMS_SUPPORTED,
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ACR_VALUES_SUPPORTED,
        "prompt_values_supported": [
            "none", "login", "consent", "select_account",
            # Initiating User Registration via OpenID Connect 1.0: only with a registration flow.
            *(["create"] if provider.engine.flows.spec.registration_flow else []),
        ],
        "ui_locales_supported": provider.ui_locales,
        "claims_parameter_supported": True,
        # JAR (RFC 9101) by value and inside PAR; a request_uri is taken only from PAR.
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": REQUEST_OBJECT_ALGS,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "dpop_signing_alg_values_supported": DPOP_ALGS,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


def metadata_document(provider: Provider) -> Document:
    """The metadata, encoded again only when flows.yaml's reload changes what it says."""
    version = provider.engine.flows.spec.registration_flow  # prompt_values_supported
    return provider.documents.get("metadata", version, lambda: provider_metadata(provider))


def jwks_document(provider: Provider) -> Document:
    """The JWK Set, encoded again when the keys are reloaded or one is no longer published."""
    keys = provider.keys
    return provider.documents.get(
        "jwks", (keys, keys.published_kids()), keys.public_jwks, "application/jwk-set+json"
    )


@blueprint.route("/.well-known/openid-configuration")
async def openid_configuration() -> Response:
    document = metadata_document(current_provider())
    return response_of(document.answer(request.headers.get("If-None-Match")))


@blueprint.route("/jwks")
async def jwks() -> Response:
    document = jwks_document(current_provider())
    return response_of(document.answer(request.headers.get("If-None-Match")))
