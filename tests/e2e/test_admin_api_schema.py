"""The admin API against its own OpenAPI document (schemathesis): requests generated from the
document never get a 5xx, and every answer matches the status codes, content types and schemas
the document gives. The server is this module's own: generated calls create users and clients
and rotate keys."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.server import ADMIN_SECRET, RunningServer, start_server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("gatehouse-admin-schema"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin_schema(own_server: RunningServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{own_server.issuer}/admin/api/openapi.json")


@pytest.fixture(scope="module")
def admin_token(own_server: RunningServer) -> str:
    answer = httpx2.post(f"{own_server.issuer}/token", auth=("admin-bot", ADMIN_SECRET),
                         data={"grant_type": "client_credentials", "scope": "gatehouse:admin"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_the_admin_api_answers_as_its_document_says(
    admin_schema: schemathesis.BaseSchema, admin_token: str
) -> None:
    """Each operation of the document, with valid and invalid examples generated from it
    (invalid ones must be refused with a documented 4xx; a loop rather than
    schemathesis' pytest plugin: the document comes from this module's running server)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in admin_schema.get_all_operations()]
    assert len(operations) >= 30

    for operation, mode in itertools.product(operations, GenerationMode):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # an operation with nothing to make invalid (no parameters)
            assert mode is GenerationMode.NEGATIVE, operation.label
