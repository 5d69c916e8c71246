"""Recordings through the watcher: real audio with a non-ASCII name, and a corrupt one."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.watcher import WatchService
from tests.support.tiny_whisper import DEFAULT_PHRASE, build_tiny_whisper
from tests.watcher.helpers import wait_failed, wait_processed


@pytest.fixture(scope="module")
def tiny_whisper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture
def audio_engine(settings: Settings, tiny_whisper_dir: Path) -> Iterator[Engine]:
    engine = Engine.open(settings.model_copy(update={"whisper_model": str(tiny_whisper_dir)}))
    try:
        engine.add_service(WatchService(engine))
        yield engine
    finally:
        engine.close()


def test_non_ascii_recording_name(audio_engine: Engine, default_folder: Path, shared_data: type) -> None:
    recording = shared_data("pyannote-audio", "tests-data", "trñ00.wav")
    shutil.copy(recording, default_folder / "trñ00.wav")

    result = wait_processed(default_folder, "trñ00.wav", timeout=120)

    assert result["status"] == "COMPLETED"
    assert result["name"] == "trñ00.wav"
    assert result["duration"] == pytest.approx(30.0, abs=0.5)
    processed = default_folder / "processed"
    assert (processed / "trñ00.wav").read_bytes() == recording.read_bytes()
    assert DEFAULT_PHRASE in (processed / "trñ00.wav.txt").read_text(encoding="utf-8")
    subtitles = (processed / "trñ00.wav.srt").read_text(encoding="utf-8")
    cue_text = [line.removeprefix("SPEAKER_00: ") for block in subtitles.split("\n\n")
                for line in block.split("\n")[2:]]  # cues cut at the words' times
    assert subtitles.startswith("1\n") and DEFAULT_PHRASE in " ".join(" ".join(cue_text).split())


def test_corrupt_recording_fails_in_the_worker_and_lands_in_failed(audio_engine: Engine,
                                                                   default_folder: Path) -> None:
    # A WAV header (so it is accepted as audio) followed by bytes no decoder can read.
    corrupt = b"RIFF" + struct.pack("<I", 4004) + b"WAVE" + bytes(range(0x20, 0x7F)) * 40
    (default_folder / "broken call.wav").write_bytes(corrupt)

    report = wait_failed(default_folder, "broken call.wav", timeout=60)

    assert report["error"]["code"] == "VALIDATION_ERROR"
    assert "corrupt" in report["error"]["message"]
    assert report["job_id"].startswith("job_")
    job = audio_engine.jobs.get(report["job_id"])
    assert job.status.value == "FAILED"
    assert audio_engine.transcriptions.get(report["transcription_id"]).status.value == "FAILED"
    assert (default_folder / "failed" / "broken call.wav").read_bytes() == corrupt
