"""The /api/v1/voices endpoints on the processed harper-valley call: shapes, errors in the contract's
envelope, forgetting a voice, and voiceprints that never leave the data directory."""

from __future__ import annotations

import json

import duckdb
from fastapi.testclient import TestClient

from heard_local.domain import TranscriptionStatus
from heard_local.exports.transcript_formats import render
from tests.conftest import shared_data_path
from tests.support.engine_internals import store_of
from tests.voices.conftest import Processed, process

API = "/api/v1"


def assert_error(response: object, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    if field is not None:
        assert body["error"]["details"].get("field") == field, body


def test_remember_list_and_forget_a_voice(call: Processed, voices_client: TestClient,
                                          voices_headers: dict[str, str]) -> None:
    caller = next(s for s in call.original.details.speakers if s != call.agent)  # type: ignore[union-attr]
    created = voices_client.post(f"{API}/voices", headers=voices_headers, json={
        "transcription_id": call.original.transcription_id, "speaker": caller, "name": "Elizabeth Davis"})
    assert created.status_code == 201, created.text
    voice = created.json()
    assert voice["name"] == "Elizabeth Davis" and voice["role"] is None and voice["samples"] == 1
    assert voice["voice_id"].startswith("voice_") and "embedding" not in voice
    listed = voices_client.get(f"{API}/voices", headers=voices_headers).json()
    assert {v["voice_id"] for v in listed["voices"]} >= {voice["voice_id"], call.profile.voice_id}
    named = call.engine.transcriptions.get(call.original.transcription_id).details.speakers  # type: ignore[union-attr]
    assert named[caller].name == "Elizabeth Davis" and named[caller].voice_id == voice["voice_id"]

    where = voices_client.get(f"{API}/voices/{voice['voice_id']}/transcriptions", headers=voices_headers).json()
    assert where["voice"]["voice_id"] == voice["voice_id"]
    rows = {r["transcription_id"]: r for r in where["transcriptions"]}
    assert rows[call.original.transcription_id]["speaker"] == caller
    assert rows[call.original.transcription_id]["similarity"] > 0.99

    forgotten = voices_client.delete(f"{API}/voices/{voice['voice_id']}", headers=voices_headers)
    assert forgotten.status_code == 200 and forgotten.json() == {"voice_id": voice["voice_id"], "deleted": True}
    assert voice["voice_id"] not in store_of(call.engine).voices.profile_vectors()  # its embedding is gone
    assert store_of(call.engine).db.fetchone("SELECT count(*) FROM voice_profiles WHERE voice_id = ?",
                                         [voice["voice_id"]]) == (0,)
    after = call.engine.transcriptions.get(call.original.transcription_id).details.speakers  # type: ignore[union-attr]
    assert after[caller].voice_id is None and after[caller].name is None
    assert after[call.agent].voice_id == call.profile.voice_id  # the other profile is untouched
    assert_error(voices_client.delete(f"{API}/voices/{voice['voice_id']}", headers=voices_headers),
                 404, "NOT_FOUND", "voice_id")


def test_the_same_name_again_adds_to_that_profile(call: Processed, voices_client: TestClient,
                                                  voices_headers: dict[str, str]) -> None:
    agent_in_copy = next(s for s, i in call.reencoded.details.speakers.items()  # type: ignore[union-attr]
                         if i.voice_id == call.profile.voice_id)
    again = voices_client.post(f"{API}/voices", headers=voices_headers, json={
        "transcription_id": call.reencoded.transcription_id, "speaker": agent_in_copy, "name": "jennifer"})
    assert again.status_code == 200, again.text
    assert again.json()["voice_id"] == call.profile.voice_id and again.json()["samples"] == 2
    assert again.json()["role"] == "Agent"  # kept when not given


def test_voice_errors_use_the_contract_envelope(call: Processed, voices_client: TestClient,
                                                voices_headers: dict[str, str]) -> None:
    tid = call.original.transcription_id
    post = voices_client.post
    assert_error(post(f"{API}/voices", headers=voices_headers,
                      json={"transcription_id": "nope", "speaker": "SPEAKER_00", "name": "X"}),
                 404, "NOT_FOUND", "transcription_id")
    assert_error(post(f"{API}/voices", headers=voices_headers,
                      json={"transcription_id": tid, "speaker": "SPEAKER_07", "name": "X"}),
                 400, "VALIDATION_ERROR", "speaker")
    assert_error(post(f"{API}/voices", headers=voices_headers,
                      json={"transcription_id": tid, "speaker": "Jennifer", "name": "X"}), 400, "VALIDATION_ERROR")
    assert_error(post(f"{API}/voices", headers=voices_headers,
                      json={"transcription_id": tid, "speaker": call.agent}), 400, "VALIDATION_ERROR")
    assert_error(post(f"{API}/voices", headers=voices_headers,
                      json={"transcription_id": tid, "speaker": call.agent, "name": "   "}),
                 400, "VALIDATION_ERROR", "name")
    assert_error(voices_client.get(f"{API}/voices/voice_nope/transcriptions", headers=voices_headers),
                 404, "NOT_FOUND", "voice_id")
    assert_error(voices_client.get(f"{API}/voices"), 401, "AUTH_ERROR")


def test_a_text_transcripts_speaker_has_no_voice_to_remember(call: Processed, voices_client: TestClient,
                                                            voices_headers: dict[str, str]) -> None:
    submission = call.engine.ingest.transcript({"transcript_text": "Agent: Hello there.\nCustomer: Hi."})
    call.engine.jobs.wait(submission.job.job_id, timeout=60)
    answer = voices_client.post(f"{API}/voices", headers=voices_headers, json={
        "transcription_id": submission.job.transcription_id, "speaker": "SPEAKER_00", "name": "Sam"})
    assert_error(answer, 400, "VALIDATION_ERROR", "speaker")
    assert "no voiceprint" in answer.json()["error"]["message"]


def test_deleting_a_transcription_deletes_its_voiceprints(call: Processed) -> None:
    engine = call.engine
    sample = process(engine, shared_data_path("pyannote-audio", "sample.wav"), {})
    assert store_of(engine).voices.count_voiceprints(sample.transcription_id) >= 1
    total = store_of(engine).voices.count_voiceprints()
    engine.transcriptions.delete(sample.transcription_id)
    assert store_of(engine).voices.count_voiceprints(sample.transcription_id) == 0
    assert store_of(engine).voices.count_voiceprints() < total


def vectors_in(value: object) -> list[list[object]]:
    """Every list of 256 numbers anywhere in a JSON value (a voiceprint's shape)."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in vectors_in(item)]
    if isinstance(value, list):
        own = [value] if len(value) == 256 and all(isinstance(x, float) for x in value) else []
        return own + [v for item in value for v in vectors_in(item)]
    return []


def test_no_export_carries_a_voiceprint(call: Processed) -> None:
    engine = call.engine
    manifest = engine.exports.parquet(force=True)
    assert not {"speaker_voiceprints", "voice_profiles"} & set(manifest["tables"])
    for table in manifest["tables"].values():
        path = engine.settings.export_dir / table["file"]
        with duckdb.connect() as con:  # its own connection: the module's default one may be busy elsewhere
            schema = con.sql(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
        assert not [c for c in schema if "FLOAT" in c[1] and "[" in c[1]], (table, schema)
    transcription = engine.transcriptions.get(call.reencoded.transcription_id)
    assert transcription.status is TranscriptionStatus.COMPLETED
    for answer in (transcription.to_api(), json.loads(render(transcription, "json")),
                   [v.model_dump(mode="json") for v in engine.voices.profiles()]):
        assert not vectors_in(answer) and "embedding" not in json.dumps(answer)
    assert "embedding" not in engine.exports.fields().columns
