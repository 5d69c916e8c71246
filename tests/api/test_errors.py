"""Every error code of the contract, produced through the API, in the one envelope."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.engine import Engine
from tests.api.conftest import UPLOAD_CAP
from tests.api.support import write_wav
from tests.support.engine_internals import store_of


def _assert_envelope(response, status: int, code: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]
    assert "Traceback" not in response.text
    if field is not None:
        assert error["details"].get("field") == field, error
    return error


def test_validation_error_names_the_field(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/ingest/transcript", headers=headers,
                           json={"transcript_text": "Agent: hi", "metadata": {"channel": "fax"}})
    _assert_envelope(response, 400, "VALIDATION_ERROR", "metadata.channel")
    missing = client.post("/v1/ingest/transcript", headers=headers, json={"metadata": {}})
    _assert_envelope(missing, 400, "VALIDATION_ERROR", "transcript_text")
    not_json = client.post("/v1/ingest/transcript", headers={**headers, "content-type": "application/json"},
                           content=b"{not json")
    _assert_envelope(not_json, 400, "VALIDATION_ERROR")
    neither = client.post("/v1/ingest/audio", headers=headers, json={"metadata": {"source": "x"}})
    _assert_envelope(neither, 400, "VALIDATION_ERROR", "audio_url")


def test_auth_error(client: TestClient) -> None:
    _assert_envelope(client.get("/api/v1/transcriptions"), 401, "AUTH_ERROR")


def test_not_found(client: TestClient, headers: dict[str, str]) -> None:
    _assert_envelope(client.get("/api/v1/ingest/jobs/job_missing", headers=headers), 404, "NOT_FOUND", "job_id")
    _assert_envelope(client.get("/api/v1/transcriptions/nope", headers=headers), 404, "NOT_FOUND")
    _assert_envelope(client.get("/api/v1/no-such-endpoint", headers=headers), 404, "NOT_FOUND")
    wrong_method = client.put("/api/v1/ingest/transcript", headers=headers, json={})
    assert _assert_envelope(wrong_method, 404, "NOT_FOUND")["details"]["allowed"] == "POST"


def test_conflict_on_the_21st_configuration(client: TestClient, headers: dict[str, str]) -> None:
    answers = [client.post("/api/v1/configurations", headers=headers, json={"tag": f"Config {i}"})
               for i in range(21)]
    assert [a.status_code for a in answers[:20]] == [201] * 20
    _assert_envelope(answers[20], 409, "CONFLICT")
    listed = client.get("/api/v1/configurations", headers=headers).json()["configurations"]
    assert "Config 20" not in [c["tag"] for c in listed]


def test_file_too_large(client: TestClient, headers: dict[str, str], tmp_path: Path) -> None:
    big = write_wav(tmp_path / "big.wav", seconds=UPLOAD_CAP / 32_000 + 1)
    with open(big, "rb") as handle:
        response = client.post("/api/v1/ingest/audio", headers=headers, files={"audio_file": ("big.wav", handle)})
    _assert_envelope(response, 413, "FILE_TOO_LARGE", "audio_file")


def test_unsupported_format(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/api/v1/ingest/audio", headers=headers,
                           files={"audio_file": ("notes.wav", b"these are not audio bytes at all", "audio/wav")})
    _assert_envelope(response, 415, "UNSUPPORTED_FORMAT", "audio_file")


def test_rate_limited_with_retry_after(api_engine: Engine, api_key: str) -> None:
    api_engine.settings.rate_limit_per_second = 0.5
    api_engine.settings.rate_limit_burst = 2
    with TestClient(create_app(api_engine)) as limited:
        headers = {"X-API-Key": api_key}
        assert [limited.get("/api/v1/configurations", headers=headers).status_code for _ in range(2)] == [200, 200]
        response = limited.get("/api/v1/configurations", headers=headers)
        error = _assert_envelope(response, 429, "RATE_LIMITED")
        assert int(response.headers["Retry-After"]) >= 1
        assert 0 < error["details"]["retry_after"] <= 2.0


def test_idempotency_key_reused_for_another_body_is_422(client: TestClient, headers: dict[str, str]) -> None:
    keyed = {**headers, "Idempotency-Key": "order-1"}
    assert client.post("/v1/ingest/transcript", headers=keyed, json={"transcript_text": "Agent: a"}).status_code == 202
    response = client.post("/v1/ingest/transcript", headers=keyed, json={"transcript_text": "Agent: b"})
    _assert_envelope(response, 422, "VALIDATION_ERROR", "Idempotency-Key")


def test_internal_error_never_shows_a_stack_trace(api_engine: Engine, api_key: str) -> None:
    app = create_app(api_engine)
    with TestClient(app, raise_server_exceptions=False) as broken:
        store_of(api_engine).db.close()  # the database disappears under a running server
        response = broken.get("/api/v1/transcriptions", headers={"X-API-Key": api_key})
    error = _assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "database is closed" not in error["message"]


@pytest.mark.parametrize("path", ["/openapi.json"])
def test_schema_documents_the_error_envelope(client: TestClient, path: str) -> None:
    schema = client.get(path).json()
    ingest = schema["paths"]["/api/v1/ingest/audio"]["post"]
    assert {"202", "400", "401", "413", "415", "422", "429"} <= set(ingest["responses"])
    assert "Retry-After" in ingest["responses"]["429"]["headers"]
    assert "AudioUrlIngest" in schema["components"]["schemas"]
