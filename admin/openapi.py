"""The admin API's OpenAPI 3.1 document, made from the endpoint table and its pydantic models
(JSON Schema 2020-12, which OpenAPI 3.1 speaks)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from admin.api_routes import ADMIN_SCOPE, API_PREFIX, PROBLEM, READ_SCOPE, Endpoint
from admin.models import Problem

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]
TITLES = {
    400: "The request is malformed", 404: "Not found", 409: "Conflicts with what is stored",
    422: "Not valid", 503: "Cannot be done here now",
}


class OAuthError(BaseModel):
    """An RFC 6750 error (with its WWW-Authenticate challenge); empty without a token."""

    error: str | None = None
    error_description: str | None = None


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null."""
    choices = schema.get("anyOf")
    if choices and any(c.get("type") == "null" for c in choices):
        rest = [c for c in choices if c.get("type") != "null"]
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **rest[0]} if (
            len(rest) == 1
        ) else {**schema, "anyOf": rest}
        if schema.get("default", 0) is None:
            del schema["default"]
    return schema


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    found = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    if endpoint.query is not None:
        schema = endpoint.query.model_json_schema()
        for name, property_schema in schema["properties"].items():
            found.append({
                "name": name, "in": "query", "required": name in schema.get("required", []),
                "schema": _without_null(property_schema),
                **({"description": d} if (d := property_schema.get("description")) else {}),
            })
    return found


def _responses(endpoint: Endpoint, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    problem = {"content": {PROBLEM: {"schema": refs[(Problem, "serialization")]}}}
    oauth = {"content": {"application/json": {"schema": refs[(OAuthError, "serialization")]}}}
    if endpoint.answer is not None:
        answer: dict[str, Any] = {"description": "OK", "content": {
            "application/json": {"schema": refs[(endpoint.answer, "serialization")]},
        }}
    elif endpoint.media:
        answer = {"description": "OK", "content": {
            media: {"schema": {"type": "string"}} for media in endpoint.media
        }}
    else:
        answer = {"description": "Done"}
    return {
        str(endpoint.status if endpoint.answer or endpoint.media else 204): answer,
        "401": {"description": "No valid token", **oauth},
        "403": {"description": "The token lacks the scope", **oauth},
        **{str(s): {"description": TITLES[s], **problem} for s in endpoint.errors},
    }


def openapi_document(endpoints: list[Endpoint], issuer: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Mode]] = [
        (Problem, "serialization"), (OAuthError, "serialization"),
    ]
    for endpoint in endpoints:
        if endpoint.body is not None:
            models.append((endpoint.body, "validation"))
        if endpoint.answer is not None:
            models.append((endpoint.answer, "serialization"))
    refs, schemas = models_json_schema(list(dict.fromkeys(models)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "operationId": endpoint.handler.__name__,
            "summary": endpoint.summary,
            "parameters": _parameters(endpoint),
            "responses": _responses(endpoint, refs),
            "security": [{"oauth2": endpoint.scopes}],
        }
        if endpoint.body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[(endpoint.body, "validation")]},
            }}
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    base = issuer.rstrip("/")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Gatehouse admin API", "version": "1"},
        "servers": [{"url": base + API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"oauth2": {
                "type": "oauth2",
                "description": f"An access token for the audience {base}{API_PREFIX} (client"
                " credentials with the `resource` parameter, or the client's default audience),"
                " as Bearer or DPoP.",
                "flows": {"clientCredentials": {
                    "tokenUrl": base + "/token",
                    "scopes": {ADMIN_SCOPE: "Read and change everything",
                               READ_SCOPE: "Read only"},
                }},
            }},
        },
    }
