"""The same content with the same configuration is one job, whichever door it came through."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from heard_local.engine import Engine


def _wav(path: Path, seconds: float = 1.0, freq: float = 440.0) -> Path:
    t = np.arange(int(16000 * seconds)) / 16000
    samples = (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(samples.tobytes())
    return path


def test_same_transcript_twice_is_one_job(engine: Engine) -> None:
    body = {"transcript_text": "Agent: hello\nCustomer: hi", "metadata": {"source": "api"}}
    first = engine.ingest.transcript(body)
    second = engine.ingest.transcript({**body, "metadata": {"source": "watch-folder"}})
    assert not first.duplicate and second.duplicate
    assert second.job.job_id == first.job.job_id
    assert second.job.transcription_id == first.job.transcription_id
    assert engine.transcriptions.list().total == 1


def test_same_transcript_with_another_configuration_is_another_job(engine: Engine) -> None:
    other, _ = engine.configurations.create({"tag": "Other"})
    first = engine.ingest.transcript({"transcript_text": "Agent: hello"})
    second = engine.ingest.transcript({"transcript_text": "Agent: hello",
                                       "configuration_id": other.configuration_id})
    assert not second.duplicate and second.job.job_id != first.job.job_id


def test_same_audio_bytes_under_different_names_is_one_job(engine: Engine, tmp_path: Path) -> None:
    original = _wav(tmp_path / "call.wav")
    copy = tmp_path / "renamed copy.wav"
    copy.write_bytes(original.read_bytes())
    first = engine.ingest.audio_file(original, original_name="call.wav")
    second = engine.ingest.audio_file(copy, original_name="renamed copy.wav", move=True)
    assert second.duplicate and second.job.job_id == first.job.job_id
    assert not copy.exists()  # a moved duplicate is not left behind
    stored = list((engine.settings.media_dir).rglob("*.wav"))
    assert len(stored) == 1 and stored[0].name.startswith(first.job.content_sha256)


def test_different_audio_is_a_new_job(engine: Engine, tmp_path: Path) -> None:
    a = engine.ingest.audio_file(_wav(tmp_path / "a.wav", freq=440))
    b = engine.ingest.audio_file(_wav(tmp_path / "b.wav", freq=880))
    assert not b.duplicate and a.job.job_id != b.job.job_id


def test_a_deleted_transcription_can_be_ingested_again(engine: Engine) -> None:
    first = engine.ingest.transcript({"transcript_text": "Agent: once more"})
    engine.jobs.wait(first.job.job_id, timeout=30)
    engine.transcriptions.delete(first.job.transcription_id)
    again = engine.ingest.transcript({"transcript_text": "Agent: once more"})
    assert not again.duplicate and again.job.job_id != first.job.job_id
