"""schemathesis against ``/openapi.json`` (issue [integration] "Tests").

Every ``/api/v1`` operation is called with generated requests, valid and invalid,
through the ASGI app with a valid token: no answer may be a 5xx, and every answer must
conform to the document (its status code is documented, its content type is the one
documented for that code, its body matches the schema), and an operation that declares
bearer auth must refuse the same request without a token or with a wrong one.
Bounded: a few examples per operation, SQLite only, well under 90 s.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from medsign.runtime import Runtime
from tests.support.api import create_envelope, new_org, patient, upload

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,  # a 2xx with the token: the same request without it must be refused
]
MAX_EXAMPLES = 12  # per operation and mode (valid, invalid requests)


@pytest.fixture
def api_schema(client: TestClient, rt: Runtime, database_url: str) -> BaseSchema:
    """The app's OpenAPI document, loaded through ASGI (only ``/api/v1``)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the fuzzer runs once, on SQLite")
    rt.settings.api_rate_per_minute = 1_000_000  # 429 is documented; we want the routes
    return schemathesis.openapi.from_asgi("/openapi.json", client.app).include(
        path_regex="^/api/v1/"
    )


def fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, headers: dict[str, str]
) -> None:
    """Run bounded generated requests against one operation; raise on the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case[Any]) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def test_api_conforms_to_its_openapi_document(
    api_schema: BaseSchema, client: TestClient, rt: Runtime
) -> None:
    """(schemathesis' pytest loader ``from_fixture`` does not run on pytest 9, so the
    operations are iterated here; each failure is collected and reported together.)"""
    _, headers = new_org(rt)
    create_envelope(client, headers, upload(client, headers)["id"], patient())
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):  # the document itself is broken somewhere
            failures.append(f"invalid schema: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, headers)
            except (Exception, BaseExceptionGroup) as exc:  # collect; fail once with all
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
