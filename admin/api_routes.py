"""How the admin API answers: an `Endpoint` table (method, path, models, scope) from which both
the Quart routes and the OpenAPI document (admin/openapi.py) are made, so that they agree.

Callers are access tokens we issued for the API's audience (`{issuer}/admin/api`), Bearer or
DPoP-bound (oidc/protected_resources.py), with scope `gatehouse:admin`, or `gatehouse:admin:read`
for what only reads. A token of a user (token exchange) also needs the user in the admin group.
Errors are RFC 9457 problem documents; token errors are RFC 6750 challenges.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from quart import Blueprint, Response, current_app, jsonify, request

from admin.actors import Actor, AdminError, Invalid
from admin.config import admin_config
from oidc import (
    InsufficientScopeError,
    InvalidTokenError,
    OAuth2Error,
    Provider,
    challenge,
    current_provider,
    resource_token,
    token_scheme,
)

API_PREFIX = "/admin/api"
ADMIN_SCOPE = "gatehouse:admin"
READ_SCOPE = "gatehouse:admin:read"
PROBLEM = "application/problem+json"


@dataclass
class Call:
    """One request to an endpoint: who calls, the path's values, the query and the body."""

    provider: Provider
    actor: Actor
    path: dict[str, str]
    query: Any = None
    body: Any = None


Handler = Callable[[Call], Awaitable[BaseModel | Response | None]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # under API_PREFIX, OpenAPI style: /users/{user_id}
    summary: str
    handler: Handler
    writes: bool = False
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None  # None: 204, or `media` below
    status: int = 200
    media: tuple[str, ...] = ()  # the types of a non-JSON answer (image/svg+xml, text/csv...)
    errors: tuple[int, ...] = field(default=(400, 404, 409, 422))

    @property
    def scopes(self) -> list[str]:
        return [ADMIN_SCOPE] if self.writes else [ADMIN_SCOPE, READ_SCOPE]


def api_audience(provider: Provider) -> str:
    return provider.url(API_PREFIX)


def problem(status: int, title: str, detail: str | None = None) -> Response:
    response = jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail})
    response.status_code = status
    response.content_type = PROBLEM
    response.headers["Cache-Control"] = "no-store"
    return response


async def _caller(provider: Provider, writes: bool) -> Actor:
    found = await resource_token(provider, api_audience(provider))
    if ADMIN_SCOPE not in found.scopes and (writes or READ_SCOPE not in found.scopes):
        raise InsufficientScopeError(
            f"this needs scope {ADMIN_SCOPE}" + ("" if writes else f" or {READ_SCOPE}")
        )
    subject = str(found.claims.get("sub"))
    if subject == found.client.client_id:
        return Actor("client", subject)
    user = await provider.store.users.get(subject)
    if user is None or user.disabled or admin_config(current_app).group not in user.groups:
        raise InvalidTokenError("the token's user is not an administrator")
    return Actor("user", user.id)


def _validated(model: type[BaseModel], data: object) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise Invalid(f"{where}: {error['msg']}") from exc


async def _body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "application/json":
        raise AdminError("send the body as application/json")
    try:  # bytes, then json: get_json would let a body that is not UTF-8 raise
        data = json.loads(await request.get_data(as_text=False))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
        raise AdminError("the body is not JSON") from exc
    return _validated(model, data)


def _view(endpoint: Endpoint) -> Callable[..., Awaitable[Response]]:
    async def view(**path: str) -> Response:
        provider = current_provider()
        try:
            actor = await _caller(provider, endpoint.writes)
        except OAuth2Error as error:
            return challenge(error, token_scheme(), realm="gatehouse-admin")
        try:
            call = Call(provider, actor, path)
            if endpoint.query is not None:
                call.query = _validated(endpoint.query, request.args.to_dict())
            if endpoint.body is not None:
                call.body = await _body(endpoint.body)
            answer = await endpoint.handler(call)
        except AdminError as error:
            return problem(error.status, error.title, error.detail)
        if isinstance(answer, Response):
            response = answer
        elif answer is None:
            response = Response(status=204)
        else:
            response = Response(answer.model_dump_json(), endpoint.status,
                                content_type="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    view.__name__ = endpoint.handler.__name__
    return view


def api_blueprint(endpoints: list[Endpoint], document: Callable[[], dict[str, Any]]) -> Blueprint:
    """The routes of `endpoints`, and the OpenAPI document at /admin/api/openapi.json."""
    blueprint = Blueprint("admin_api", __name__, url_prefix=API_PREFIX)
    for endpoint in endpoints:
        rule = endpoint.path.replace("{", "<").replace("}", ">")
        blueprint.add_url_rule(rule, view_func=_view(endpoint), methods=[endpoint.method])

    @blueprint.get("/openapi.json")
    async def openapi() -> Response:
        return jsonify(document())

    return blueprint
