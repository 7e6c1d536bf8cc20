"""The demo relying party: a real authorization-code + PKCE client of this server, using authlib's
OAuth client for the protocol and joserfc to verify the ID token against the published JWKS.
The server passes in the configured clients; the demo uses the one named `demo_client_id`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Protocol

import httpx2
from authlib.common.urls import add_params_to_uri
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.jwk import KeySet
from quart import Blueprint, Response, request

from core import same_secret
from oidc import current_provider, see_other
from ui import render_page

COOKIE = "demo_rp"


class DemoClient(Protocol):
    """What the demo needs of a configured client (the server's `ClientSettings` has it)."""

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> str | None: ...

    @property
    def token_endpoint_auth_method(self) -> str: ...

    @property
    def redirect_uris(self) -> Sequence[str]: ...


def demo_blueprint(issuer: str, client_id: str, clients: Sequence[DemoClient]) -> Blueprint:
    client = next((c for c in clients if c.client_id == client_id), None)
    if client is None:
        raise ValueError(f"demo: client {client_id!r} is not in the config")
    redirect_uri = f"{issuer}/demo/callback"
    if redirect_uri not in client.redirect_uris:
        raise ValueError(f"demo: add {redirect_uri} to the redirect_uris of {client_id}")
    blueprint = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")

    def oauth_client() -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=client.client_id,
            client_secret=client.client_secret,
            token_endpoint_auth_method=client.token_endpoint_auth_method,
            scope="openid profile email",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )

    async def serializer() -> URLSafeTimedSerializer:
        key = await current_provider().store.secrets.get_or_create(
            "demo-cookie-key", secrets.token_urlsafe(32)
        )
        return URLSafeTimedSerializer(key, salt="demo-rp")

    @blueprint.get("/")
    async def index() -> Response:
        return await render_page("demo/index.html", client_id=client.client_id)

    @blueprint.get("/login")
    async def login() -> Response:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)  # RFC 7636 §4.1: 43 to 128 characters
        async with oauth_client() as oauth:
            url, _ = oauth.create_authorization_url(
                f"{issuer}/authorize", state=state, nonce=nonce, code_verifier=verifier
            )
        response = see_other(url)
        value = (await serializer()).dumps({"state": state, "nonce": nonce, "verifier": verifier})
        response.set_cookie(COOKIE, value, max_age=900, httponly=True, samesite="Lax", path="/demo")
        return response

    @blueprint.get("/callback")
    async def callback() -> Response:
        try:
            saved = (await serializer()).loads(request.cookies.get(COOKIE, ""), max_age=900)
        except BadSignature:
            return await _problem("The demo lost track of this sign-in. Start again.")
        if not same_secret(request.args.get("state", ""), saved["state"]):
            return await _problem("The state did not match: this response is not for this browser.")
        if request.args.get("iss") != issuer:
            return await _problem("The response came from an unexpected issuer (RFC 9207).")
        if "error" in request.args:
            return await _problem(f"The server answered: {request.args['error']}.")
        async with oauth_client() as oauth:
            try:
                token = await oauth.fetch_token(
                    f"{issuer}/token",
                    code=request.args.get("code", ""),
                    code_verifier=saved["verifier"],
                    redirect_uri=redirect_uri,
                )
            except OAuthError as error:
                return await _problem(f"The token endpoint answered: {error.error}.")
            claims = await _verified_id_token(
                issuer, client.client_id, token["id_token"], saved["nonce"]
            )
            userinfo = (await oauth.get(f"{issuer}/userinfo")).json()
        logout_url = add_params_to_uri(
            f"{issuer}/logout",
            [
                ("id_token_hint", token["id_token"]),
                ("post_logout_redirect_uri", f"{issuer}/demo/"),
            ],
        )
        response = await render_page(
            "demo/result.html", id_token=claims, userinfo=userinfo, logout_url=logout_url
        )
        response.delete_cookie(COOKIE, path="/demo")
        return response

    return blueprint


async def _verified_id_token(
    issuer: str, client_id: str, id_token: str, nonce: str
) -> dict[str, Any]:
    """Signature against the JWKS, then iss, aud, exp and nonce (OIDC Core §3.1.3.7)."""
    async with httpx2.AsyncClient() as http:
        jwks = (await http.get(f"{issuer}/jwks")).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True},
    ).validate(token.claims)
    return token.claims


async def _problem(message: str) -> Response:
    return await render_page("demo/index.html", status=400, problem=message)
