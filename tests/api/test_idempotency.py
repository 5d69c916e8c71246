"""Idempotency-Key on both ingest endpoints: a retry returns the first response, the same key with a
different body answers 422, and a request that fails validation stores nothing."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from heard_local.api.app import create_app
from heard_local.config import Settings
from heard_local.engine import Engine
from tests.api.support import write_wav
from tests.support.clock import ManualWallClock
from tests.support.engine_internals import store_of

BODY = {"transcript_text": "Agent: Hello\nCustomer: My invoice is wrong", "metadata": {"channel": "chat"}}


def test_a_retry_returns_the_first_response(client: TestClient, headers: dict[str, str], api_engine: Engine) -> None:
    keyed = {**headers, "Idempotency-Key": "a4b1c7d0-retry"}
    first = client.post("/api/v1/ingest/transcript", headers=keyed, json=BODY)
    again = client.post("/v1/ingest/transcript", headers=keyed, json=BODY)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert api_engine.transcriptions.list().total == 1


def test_same_key_different_body_is_422_and_changes_nothing(client: TestClient, headers: dict[str, str],
                                                            api_engine: Engine) -> None:
    keyed = {**headers, "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/ingest/transcript", headers=keyed, json=BODY)
    other = client.post("/api/v1/ingest/transcript", headers=keyed, json={**BODY, "transcript_text": "Agent: Bye"})
    assert other.status_code == 422 and other.json()["error"]["code"] == "VALIDATION_ERROR"
    other_endpoint = client.post("/api/v1/ingest/audio", headers=keyed,
                                 json={"audio_url": "https://example.com/a.wav"})
    assert other_endpoint.status_code == 422
    assert api_engine.transcriptions.list().total == 1
    assert client.post("/api/v1/ingest/transcript", headers=keyed, json=BODY).json() == first.json()


def test_nothing_is_stored_when_validation_fails(client: TestClient, headers: dict[str, str],
                                                 api_engine: Engine) -> None:
    keyed = {**headers, "Idempotency-Key": "k-2"}
    invalid = client.post("/api/v1/ingest/transcript", headers=keyed,
                          json={"transcript_text": "Agent: hi", "metadata": {"customer_email": "not-an-email"}})
    assert invalid.status_code == 400
    unknown_configuration = client.post("/api/v1/ingest/transcript", headers=keyed,
                                        json={**BODY, "configuration_id": "missing"})
    assert unknown_configuration.status_code == 404
    assert store_of(api_engine).db.fetchall("SELECT * FROM idempotency_keys") == []
    # The key is still free: the corrected request goes through with it.
    assert client.post("/api/v1/ingest/transcript", headers=keyed, json=BODY).status_code == 202
    assert api_engine.transcriptions.list().total == 1


def test_keys_belong_to_one_api_key(client: TestClient, headers: dict[str, str], api_engine: Engine) -> None:
    other = {"X-API-Key": api_engine.keys.create("other integration")[1], "Idempotency-Key": "shared"}
    mine = {**headers, "Idempotency-Key": "shared"}
    assert client.post("/api/v1/ingest/transcript", headers=mine, json=BODY).status_code == 202
    response = client.post("/api/v1/ingest/transcript", headers=other, json={**BODY, "transcript_text": "Agent: x"})
    assert response.status_code == 202 and "Idempotent-Replayed" not in response.headers


def test_concurrent_retries_make_one_job(client: TestClient, headers: dict[str, str], api_engine: Engine) -> None:
    keyed = {**headers, "Idempotency-Key": "burst"}
    bodies = [{**BODY, "transcript_text": BODY["transcript_text"]} for _ in range(8)]
    answers: list[dict] = []
    lock = threading.Lock()

    def send(body: dict) -> None:
        response = client.post("/api/v1/ingest/transcript", headers=keyed, json=body)
        with lock:
            answers.append(response.json())

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({a["job_id"] for a in answers}) == 1
    assert all(a["duplicate"] is False for a in answers)  # every caller sees the first answer
    assert api_engine.transcriptions.list().total == 1


def test_upload_retry_returns_the_first_response(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                                 tmp_path: Path) -> None:
    first_file = write_wav(tmp_path / "a.wav", frequency=300)
    second_file = write_wav(tmp_path / "b.wav", frequency=500)
    keyed = {**headers, "Idempotency-Key": "upload-1"}

    def upload(path: Path, metadata: str = '{"source": "pbx"}') -> dict:
        with open(path, "rb") as handle:
            response = client.post("/api/v1/ingest/audio", headers=keyed, data={"metadata": metadata},
                                   files={"audio_file": (path.name, handle, "audio/wav")})
        return {"status": response.status_code, "body": response.json()}

    first = upload(first_file)
    assert first["status"] == 202
    assert upload(first_file) == first
    assert upload(second_file)["status"] == 422
    assert upload(first_file, '{"source": "other"}')["status"] == 422
    assert api_engine.transcriptions.list().total == 1
    assert len([p for p in api_engine.settings.media_dir.rglob("*") if p.is_file()]) == 1


def test_an_expired_key_can_be_used_again(api_settings: Settings) -> None:
    clock = ManualWallClock()
    settings = api_settings.model_copy(update={"idempotency_ttl_seconds": 0.2})
    with Engine.open(settings, clock=clock) as engine, TestClient(create_app(engine)) as client:
        keyed = {"X-API-Key": engine.keys.create("tests")[1], "Idempotency-Key": "short-lived"}
        first = client.post("/api/v1/ingest/transcript", headers=keyed, json=BODY).json()
        clock.advance(0.1)
        again = client.post("/api/v1/ingest/transcript", headers=keyed, json={**BODY, "transcript_text": "Agent: b"})
        assert again.status_code == 422  # the key is still taken by the first request
        clock.advance(0.2)
        other = client.post("/api/v1/ingest/transcript", headers=keyed, json={**BODY, "transcript_text": "Agent: new"})
        assert other.status_code == 202 and other.json()["job_id"] != first["job_id"]
        assert engine.transcriptions.list().total == 2
