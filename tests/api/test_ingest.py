"""Ingestion through the API: transcripts, uploads and audio_url answer 202 once the job is stored;
uploaded files are named by the server; malformed requests are refused and leave nothing behind."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from heard_local.engine import Engine
from tests.api.support import write_wav

TRANSCRIPT = {
    "transcript_text": "Agent: Hi, how can I help you today?\nCustomer: I have a billing question...",
    "metadata": {"source": "zendesk-chat", "customer_email": "mike@acme.com", "channel": "chat"},
}


def _files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def _wait_done(client: TestClient, headers: dict[str, str], job_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/ingest/jobs/{job_id}", headers=headers).json()
        if job["status"] != "processing" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_transcript_is_accepted_then_completed(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/ingest/transcript", headers=headers, json=TRANSCRIPT)
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["job_id"].startswith("job_") and accepted["status"] == "processing"
    assert isinstance(accepted["estimated_duration_seconds"], int)
    job = _wait_done(client, headers, accepted["job_id"])
    assert job["status"] == "completed", job
    assert client.get(f"/api/v1/jobs/{accepted['job_id']}", headers=headers).json()["status"] == "completed"
    transcription = client.get(f"/api/v1/transcriptions/{job['transcription_id']}", headers=headers).json()
    assert {"transcription_id", "status", "configuration_id", "configuration_tag", "name", "group", "duration",
            "details"} <= set(transcription)
    assert transcription["status"] == "COMPLETED"
    segments = transcription["details"]["conversation"]["segments"]
    assert [s["speaker"] for s in segments] == ["SPEAKER_00", "SPEAKER_01"]
    assert segments[1]["text"] == "I have a billing question..."
    customers = client.get("/api/v1/customers", headers=headers).json()["customers"]
    assert len(customers) == 1


def test_same_transcript_twice_is_one_job(client: TestClient, headers: dict[str, str]) -> None:
    first = client.post("/api/v1/ingest/transcript", headers=headers, json=TRANSCRIPT).json()
    second = client.post("/api/v1/ingest/transcript", headers=headers, json=TRANSCRIPT).json()
    assert second["job_id"] == first["job_id"] and second["duplicate"] is True


def test_upload_gets_a_server_name_whatever_the_client_calls_it(client: TestClient, headers: dict[str, str],
                                                               api_engine: Engine, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "call.wav")
    metadata = {"source": "custom-pbx", "caller_phone": "+1 415 555 0123", "agent_name": "Sarah Chen",
                "recorded_at": "2026-03-11T14:30:00Z"}
    with open(wav, "rb") as handle:
        response = client.post("/api/v1/ingest/audio", headers=headers, data={"metadata": json.dumps(metadata)},
                               files={"audio_file": ("../../../../tmp/evil name.wav", handle, "audio/wav")})
    assert response.status_code == 202, response.text
    accepted = response.json()
    media_dir = api_engine.settings.media_dir
    stored = _files_in(media_dir)
    assert len(stored) == 1
    assert stored[0].name.endswith(".wav") and "evil" not in stored[0].name
    assert stored[0].read_bytes() == wav.read_bytes()
    assert not (Path("/tmp") / "evil name.wav").exists()
    transcription = api_engine.transcriptions.get(accepted["transcription_id"])
    assert transcription.name == "evil name.wav"
    assert transcription.metadata["agent_name"] == "Sarah Chen"
    assert api_engine.customers.find(phone="+14155550123") is not None


def test_upload_with_unknown_configuration_leaves_nothing(client: TestClient, headers: dict[str, str],
                                                          api_engine: Engine, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "call.wav")
    with open(wav, "rb") as handle:
        response = client.post("/api/v1/ingest/audio", headers=headers, data={"configuration_id": "nope"},
                               files={"audio_file": ("call.wav", handle, "audio/wav")})
    assert response.status_code == 404
    assert response.json()["error"]["details"]["field"] == "configuration_id"
    assert _files_in(api_engine.settings.media_dir) == []


def test_malformed_uploads_are_refused_without_leftovers(client: TestClient, headers: dict[str, str],
                                                         api_engine: Engine, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "call.wav").read_bytes()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"files": {"audio_file": ("a.wav", wav)}, "data": {"metadata": "{not json"}}, "metadata"),
        ({"files": {"audio_file": ("a.wav", wav)}, "data": {"metadata": "[1, 2]"}}, "metadata"),
        ({"files": {"audio_file": ("a.wav", wav)}, "data": {"metadata": '{"channel": "fax"}'}}, "metadata.channel"),
        ({"files": {"audio_file": ("a.wav", wav)}, "data": {"audio_url": "https://example.com/a.wav"}}, "audio_url"),
        ({"files": {"audio_file": ("a.wav", wav)}, "data": {"colour": "blue"}}, "colour"),
        ({"files": [("audio_file", ("a.wav", wav)), ("audio_file", ("b.wav", wav))]}, "audio_file"),
        ({"files": {"other": ("a.wav", wav)}}, "other"),
        ({"data": {"metadata": "{}"}, "files": {"audio_file": ("empty.wav", b"")}}, "audio_file"),
    ]
    for kwargs, field in cases:
        response = client.post("/api/v1/ingest/audio", headers=headers, **kwargs)
        assert response.status_code == 400, (field, response.text)
        assert response.json()["error"]["details"]["field"] == field
    no_boundary = client.post("/api/v1/ingest/audio", headers={**headers, "content-type": "multipart/form-data"},
                              content=b"--x\r\n")
    assert no_boundary.status_code == 400
    truncated = client.post("/api/v1/ingest/audio",
                            headers={**headers, "content-type": "multipart/form-data; boundary=b"},
                            content=b'--b\r\nContent-Disposition: form-data; name="audio_file"; filename="a.wav"'
                                    b"\r\n\r\nRIFF....WAVE")
    assert truncated.status_code == 400
    plain = client.post("/api/v1/ingest/audio", headers={**headers, "content-type": "text/plain"}, content=b"hi")
    assert plain.status_code == 400 and plain.json()["error"]["details"]["field"] == "content-type"
    assert _files_in(api_engine.settings.media_dir) == []
    assert api_engine.transcriptions.list().total == 0


def test_audio_url_is_queued_and_checked_before_any_download(client: TestClient, headers: dict[str, str],
                                                             api_engine: Engine) -> None:
    body = {"audio_url": "https://storage.example.com/call-recording.wav",
            "metadata": {"source": "custom-pbx", "caller_phone": "+15550123", "agent_name": "Sarah Chen",
                         "recorded_at": "2026-03-11T14:30:00Z"}}
    response = client.post("/v1/ingest/audio", headers=headers, json=body)
    assert response.status_code == 202, response.text
    job = api_engine.jobs.get(response.json()["job_id"])
    assert job.payload.audio_url == body["audio_url"]  # type: ignore[union-attr] and job.kind.value == "audio"
    assert api_engine.transcriptions.get(job.transcription_id).name == "call-recording.wav"
    refused = [client.post("/v1/ingest/audio", headers=headers, json={"audio_url": url})
               for url in ("http://0x7f000001/a.wav", "http://localhost:8000/a.wav", "file:///etc/passwd",
                           "http://user:pw@example.com/a.wav", "http://[::ffff:10.0.0.1]/a.wav")]
    assert [r.status_code for r in refused] == [400] * 5
    assert all(r.json()["error"]["details"]["field"] == "audio_url" for r in refused)
    assert api_engine.transcriptions.list().total == 1
    both = client.post("/v1/ingest/audio", headers=headers, json={"audio_url": body["audio_url"], "audio_file": "x"})
    assert both.status_code == 400


def test_groups_listing_and_deletion(client: TestClient, headers: dict[str, str]) -> None:
    accepted = client.post("/api/v1/ingest/transcript", headers=headers, json=TRANSCRIPT).json()
    transcription_id = _wait_done(client, headers, accepted["job_id"])["transcription_id"]
    grouped = client.post("/api/v1/update-transcription-group", headers=headers,
                          json={"transcription_id": transcription_id, "group": "UNDER_REVIEW"})
    assert grouped.status_code == 200 and grouped.json()["group"] == "UNDER_REVIEW"
    listed = client.get("/api/v1/transcriptions", headers=headers, params={"group": "UNDER_REVIEW"}).json()
    assert [t["transcription_id"] for t in listed["transcriptions"]] == [transcription_id]
    bad_group = client.post("/api/v1/update-transcription-group", headers=headers,
                            json={"transcription_id": transcription_id, "group": "DONE"})
    assert bad_group.status_code == 400
    assert client.delete(f"/api/v1/transcriptions/{transcription_id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/transcriptions/{transcription_id}", headers=headers).status_code == 404
