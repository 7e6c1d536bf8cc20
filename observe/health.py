"""Health checks for load balancers and orchestrators.

`/healthz` (liveness): the process serves requests; it never asks the store, so a store outage
does not get every process restarted. `/readyz` (readiness): the store answers too; send this
process traffic.
"""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, Response, current_app, jsonify

from oidc.provider import EXTENSION_KEY, Provider
from store.errors import StoreUnavailableError

READY_TIMEOUT = 2.0  # seconds; under the usual probe timeout of orchestrators
RETRY_AFTER_SECONDS = 5

blueprint = Blueprint("health", __name__)
log = logging.getLogger("gatehouse.health")


@blueprint.get("/healthz")
async def healthz() -> Response:
    return jsonify(status="ok")


@blueprint.get("/readyz")
async def readyz() -> Response:
    provider: Provider | None = current_app.extensions.get(EXTENSION_KEY)
    try:
        if provider is None:
            raise StoreUnavailableError("the store is not open yet")
        async with asyncio.timeout(READY_TIMEOUT):
            await provider.store.ping()
    except (StoreUnavailableError, TimeoutError) as exc:
        log.warning("not ready: the store does not answer (%s)", exc or "timeout")
        response = jsonify(status="unavailable")
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return jsonify(status="ok")
