"""Small things a client can send or a supervisor must see (issue 15, "Smaller"): metadata's extra keys
are capped by count and size, lone surrogates are a 400 (not a 500), stored media is on disk before
the 202, and /health reads the database."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heard_local.domain.metadata import MAX_EXTRA_BYTES, MAX_EXTRA_KEYS
from heard_local.engine import Engine
from tests.api.support import write_wav
from tests.support.engine_internals import store_of


def _ingest(client: TestClient, headers: dict[str, str], body: str) -> Any:
    return client.post("/api/v1/ingest/transcript", content=body.encode(),
                       headers={**headers, "Content-Type": "application/json"})


def test_metadata_extra_keys_are_capped_by_count(client: TestClient, headers: dict[str, str],
                                                 api_engine: Engine) -> None:
    few = {f"key_{i}": i for i in range(MAX_EXTRA_KEYS)}
    assert _ingest(client, headers, json.dumps({"transcript_text": "a", "metadata": few})).status_code == 202
    many = {f"key_{i}": i for i in range(MAX_EXTRA_KEYS + 1)}
    response = _ingest(client, headers, json.dumps({"transcript_text": "b", "metadata": many}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == "metadata"
    assert "extra keys" in error["message"]
    assert api_engine.transcriptions.list().total == 1


def test_metadata_extra_keys_are_capped_by_size(client: TestClient, headers: dict[str, str],
                                                api_engine: Engine) -> None:
    big = {"notes": "x" * MAX_EXTRA_BYTES}
    response = _ingest(client, headers, json.dumps({"transcript_text": "a", "metadata": big}))
    assert response.status_code == 400 and "bytes" in response.json()["error"]["message"]
    nested = {"notes": [["y" * 1000] * 10] * 2}
    assert _ingest(client, headers, json.dumps({"transcript_text": "b", "metadata": nested})).status_code == 400
    assert api_engine.transcriptions.list().total == 0


@pytest.mark.parametrize("metadata", [
    '{"note": "\\ud800"}', '{"tags": ["ok", "\\udfff"]}', '{"deep": {"\\ud83d": 1}}', '{"source": "\\ud800"}',
])
def test_lone_surrogates_are_a_validation_error(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                                metadata: str) -> None:
    # Valid JSON, but not text: before, the database refused it with a 500.
    response = _ingest(client, headers, '{"transcript_text": "Agent: hi", "metadata": ' + metadata + '}')
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert _ingest(client, headers, '{"transcript_text": "a\\udc00"}').status_code == 400
    assert api_engine.transcriptions.list().total == 0


def test_lone_surrogates_in_an_uploads_metadata_are_a_validation_error(client: TestClient, headers: dict[str, str],
                                                                       api_engine: Engine, tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "a.wav").read_bytes()
    response = client.post("/api/v1/ingest/audio", headers=headers, files={"audio_file": ("a.wav", audio)},
                           data={"metadata": '{"note": "\\ud800"}'})
    assert response.status_code == 400 and response.json()["error"]["details"]["field"] == "metadata"
    assert api_engine.transcriptions.list().total == 0
    assert [p for p in api_engine.settings.media_dir.rglob("*") if p.is_file()] == []


def test_stored_media_is_on_disk_before_the_202(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    audio = write_wav(tmp_path / "a.wav").read_bytes()
    response = client.post("/api/v1/ingest/audio", headers=headers, files={"audio_file": ("a.wav", audio)})
    assert response.status_code == 202
    stored = api_engine.transcriptions.media_path(response.json()["transcription_id"])
    assert stored is not None and stored.exists()
    assert str(stored) in synced  # the file's content
    assert str(stored.parent) in synced  # and its name in the directory


def test_health_reads_the_database(client: TestClient, api_engine: Engine) -> None:
    assert client.get("/api/v1/health").json()["database"] == "ok"
    store_of(api_engine).db.close()  # what a supervisor must notice: the store is gone
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "database" in response.json()["error"]["message"]
