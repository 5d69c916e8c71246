"""heard_local.client.HeardClient against a real server (uvicorn on loopback, in a thread)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from heard_local.client import HeardClient, verify_webhook
from heard_local.domain.webhook_signature import signed_headers
from heard_local.engine import Engine
from heard_local.errors import AuthError, HeardError, NotFoundError, RateLimitedError, ValidationError
from tests.api.support import LiveServer, write_wav


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def test_ingest_wait_and_read_back(live: LiveServer, api_key: str) -> None:
    with HeardClient(live.url, api_key=api_key) as client:
        job = client.ingest_transcript("Agent: Good morning\nCustomer: Hello there",
                                       metadata={"channel": "meeting"}, idempotency_key="client-1")
        again = client.ingest_transcript("Agent: Good morning\nCustomer: Hello there",
                                         metadata={"channel": "meeting"}, idempotency_key="client-1")
        assert again == job
        transcription = client.wait_for_transcription(job["job_id"], timeout=30)
        assert transcription["status"] == "COMPLETED"
        assert client.transcriptions(status="COMPLETED")["total"] == 1
        assert client.set_group(transcription["transcription_id"], "ARCHIVED")["group"] == "ARCHIVED"


def test_upload_streams_a_file(live: LiveServer, api_key: str, api_engine: Engine, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "meeting.wav", seconds=1.0)
    with HeardClient(live.url, api_key=api_key) as client:
        accepted = client.ingest_audio(wav, metadata={"source": "notebook"}, idempotency_key="upload-1")
        assert accepted["status"] == "processing"
        assert client.ingest_audio(wav, metadata={"source": "notebook"}, idempotency_key="upload-1") == accepted
    assert api_engine.transcriptions.get(accepted["transcription_id"]).name == "meeting.wav"


def test_errors_come_back_as_heard_errors(live: LiveServer, api_key: str) -> None:
    with HeardClient(live.url, api_key=api_key) as client:
        with pytest.raises(NotFoundError):
            client.job("job_missing")
        with pytest.raises(ValidationError) as invalid:
            client.ingest_transcript("Agent: hi", metadata={"channel": "pigeon"})
        assert invalid.value.details["field"] == "metadata.channel"
    with HeardClient(live.url, api_key="sk_local_wrong") as stranger, pytest.raises(AuthError):
        stranger.configurations()


def test_rate_limits_are_waited_out(api_engine: Engine, api_key: str) -> None:
    from heard_local.api import create_app

    # 5/s: the second call must come within 200 ms of the first (the key is checked, and its token
    # taken, as soon as the headers arrive), which a loaded machine manages where 50 ms was flaky.
    api_engine.settings.rate_limit_per_second = 5.0
    api_engine.settings.rate_limit_burst = 1
    with LiveServer(create_app(api_engine)) as live:
        with HeardClient(live.url, api_key=api_key, rate_limit_retries=0) as impatient:
            impatient.configurations()
            with pytest.raises(RateLimitedError) as limited:
                impatient.configurations()
            assert 0 < limited.value.retry_after <= 0.2
        with HeardClient(live.url, api_key=api_key, rate_limit_retries=5) as patient:
            assert all(len(patient.configurations()) >= 1 for _ in range(5))


def test_verify_webhook_for_receivers() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"transcription_id": "t", "status": "COMPLETED"}'
    headers = signed_headers(secret, "msg_abc", body)
    assert verify_webhook(secret, headers, body)
    assert not verify_webhook(secret, headers, body.replace("COMPLETED", "FAILED"))
    assert not verify_webhook("whsec_" + "A" * 32, headers, body)


def test_corrections_through_the_client(live: LiveServer, api_key: str) -> None:
    with HeardClient(live.url, api_key=api_key) as client:
        job = client.ingest_transcript("Agent: Good morning, this is Ann\nCustomer: Hello there, I need a refund")
        tid = client.wait_for_transcription(job["job_id"], timeout=30)["transcription_id"]
        edited = client.correct_segment(tid, 1, text="Hello there, I need a refund today", speaker="SPEAKER_00")
        assert edited["details"]["conversation"]["segments"][1] == {
            "text": "Hello there, I need a refund today", "speaker": "SPEAKER_00", "start": None, "end": None,
            "words": []}
        split = client.split_segment(tid, 0, 2)
        assert [s["text"] for s in split["details"]["conversation"]["segments"]][:2] == ["Good morning,", "this is Ann"]
        merged = client.merge_segment(tid, 0)
        assert merged["details"]["conversation"]["segments"][0]["text"] == "Good morning, this is Ann"
        assert client.transcription(tid, words=True)["details"]["conversation"]["segments"][0]["words"] == []
        undone = client.undo_correction(tid, all_corrections=True)
        assert [s["text"] for s in undone["details"]["conversation"]["segments"]] == [
            "Good morning, this is Ann", "Hello there, I need a refund"]
        with pytest.raises(HeardError) as raised:
            client.undo_correction(tid)
        assert raised.value.code == "CONFLICT"


def test_the_local_client_corrects_the_same_way(api_engine: Engine) -> None:
    from heard_local.local_client import LocalClient

    client = LocalClient(api_engine)
    job = client.ingest_transcript("Agent: Good morning, this is Ann\nCustomer: Hello there")
    tid = client.wait_for_job(job["job_id"], timeout=30)["transcription_id"]
    edited = client.correct_segment(tid, 1, text="Hello there, Ann")
    assert edited["details"]["conversation"]["segments"][1]["text"] == "Hello there, Ann"
    assert len(client.split_segment(tid, 0, 2)["details"]["conversation"]["segments"]) == 3
    assert len(client.merge_segment(tid, 0)["details"]["conversation"]["segments"]) == 2
    assert client.undo_correction(tid, all_corrections=True)["details"]["conversation"]["segments"][1]["text"] == (
        "Hello there")
    assert "words" not in client.transcription(tid)["details"]["conversation"]["segments"][0]
