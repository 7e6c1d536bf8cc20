"""Health checks for load balancers and orchestrators.

`/healthz` (liveness): the process serves requests; it never asks the store, so a store outage
does not get every process restarted. `/readyz` (readiness): the store answers too; send this
process traffic. The server passes in how to ask the store (`health_blueprint(ping)`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from quart import Blueprint, Response, jsonify

from store import StoreUnavailableError

READY_TIMEOUT = 2.0  # seconds; under the usual probe timeout of orchestrators
RETRY_AFTER_SECONDS = 5

log = logging.getLogger("gatehouse.health")

# Asks the store; raises StoreUnavailableError when it does not answer (or is not open yet).
Ping = Callable[[], Awaitable[None]]


def health_blueprint(ping: Ping) -> Blueprint:
    """`GET /healthz` and `GET /readyz`; `/readyz` awaits `ping`."""
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    async def healthz() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    async def readyz() -> Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await ping()
        except (StoreUnavailableError, TimeoutError) as exc:
            log.warning("not ready: the store does not answer (%s)", exc or "timeout")
            response = jsonify(status="unavailable")
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        return jsonify(status="ok")

    return blueprint
