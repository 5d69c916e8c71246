"""Property-based run of schemathesis against the published OpenAPI schema: no operation answers 5xx,
every status is documented, and every error carries one of the contract's codes."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from heard_local.errors import HTTP_STATUS_BY_CODE

CODES = set(HTTP_STATUS_BY_CODE)


@schemathesis.check
def documented_error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code < 400:
        return None
    error = response.json()["error"]
    assert error["code"] in CODES, error
    expected = 422 if response.status_code == 422 and error["code"] == "VALIDATION_ERROR" else \
        HTTP_STATUS_BY_CODE[error["code"]]
    assert response.status_code == expected, (response.status_code, error)
    assert isinstance(error["message"], str) and isinstance(error["details"], dict)
    assert "Traceback" not in response.text
    return None


CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance, documented_error_envelope]


def _exercise(operation: Any, mode: GenerationMode, headers: dict[str, str], examples: int) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=dict(headers), checks=CHECKS)  # (it adds to the dict it is given)

    try:
        run()
    except Unsatisfiable:
        # No invalid input exists for an operation without parameters or body (e.g. GET /health).
        assert mode is GenerationMode.NEGATIVE and not operation.body and not operation.query, operation.label


# schemathesis's own pytest integration (from_fixture) does not run on pytest 9, so each operation is
# driven through hypothesis here, with valid and with invalid data.
def test_api_conforms_to_its_schema(app: FastAPI, headers: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _exercise(operation, mode, headers, examples=25)
