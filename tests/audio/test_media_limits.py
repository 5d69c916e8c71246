"""Untrusted media cannot exhaust memory or take the process down (issue 15, items 2 and 3).

A few MB of compressed silence can announce, and decode to, tens of GB of float32: recordings longer
than ``max_audio_seconds`` or wider than ``max_channels`` are refused on their header (before the 202,
or into failed/ from a watch folder) and again while decoding (a header can understate the length).
Decoding and probing run in helper processes with a memory limit: one that crashes or runs out of
memory fails its file with a clear message, and everything else carries on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heard_local.adapters.audio_decode import decode_audio, probe_audio
from heard_local.adapters.media_sandbox import MediaSandbox, memory_limit_for
from heard_local.api import create_app
from heard_local.config import Settings
from heard_local.domain import JobStatus, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.errors import ValidationError
from heard_local.watcher import WatchService
from tests.support.speech import Conversation
from tests.watcher.helpers import wait_failed

FOUR_HOURS = 4 * 3600.0


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("media")
    # 100 hours of silence in 39 KB (100 Hz, big blocks); decoded at 16 kHz it would be 23 GB of float32.
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=100:cl=mono", "-t", "360000", "-c:a", "flac", "-frame_size", "16384",
            str(directory / "hundred-hours.flac"))
    # 20 minutes of tone whose header claims 1 second (FLAC's STREAMINFO total-samples field, patched).
    honest = directory / "twenty-minutes.flac"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=8000", "-t", "1200", "-c:a", "flac", str(honest))
    data = honest.read_bytes()
    assert data[:4] == b"fLaC"
    word = int.from_bytes(data[18:26], "big")  # 20 bits rate, 3 channels, 5 bits per sample, 36 total samples
    (directory / "lying.flac").write_bytes(data[:18] + ((word >> 36 << 36) | 8000).to_bytes(8, "big") + data[26:])
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=2.1", "-t", "2", str(directory / "three-channels.wav"))
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=stereo", "-t", "2400", "-c:a", "flac",
            str(directory / "forty-minutes-stereo.flac"))  # 300 MB of float32 once decoded
    return directory


def test_a_hundred_hour_file_is_refused_on_its_header(media: Path) -> None:
    path = media / "hundred-hours.flac"
    assert probe_audio(path).seconds == pytest.approx(360000)
    tracemalloc.start()
    started = time.process_time()
    with pytest.raises(ValidationError, match=r"100\.0 h long; at most 4\.0 h"):
        decode_audio(path, max_seconds=FOUR_HOURS)
    assert time.process_time() - started < 1.0
    assert tracemalloc.get_traced_memory()[1] < 5 << 20  # nothing was allocated for samples
    tracemalloc.stop()


def test_a_header_that_understates_the_length_is_caught_while_decoding(media: Path) -> None:
    path = media / "lying.flac"
    assert probe_audio(path).seconds == pytest.approx(1.0)
    tracemalloc.start()
    with pytest.raises(ValidationError, match=r"longer than the 1\.0 min .* header announces 1\.0 s"):
        decode_audio(path, max_seconds=60)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 << 20  # about a minute's worth; all 20 minutes would be 77 MB
    assert decode_audio(path).duration == pytest.approx(1200, abs=1)  # without the limit: everything


@pytest.fixture
def limited_settings(audio_settings: Settings) -> Settings:
    return audio_settings.model_copy(update={"max_audio_seconds": FOUR_HOURS, "max_channels": 2,
                                             "job_max_attempts": 1})


def test_the_api_refuses_too_long_or_too_wide_audio_before_the_202(limited_settings: Settings, media: Path) -> None:
    with Engine.open(limited_settings) as engine, TestClient(create_app(engine, admin_token="t")) as client:
        for name, message in (("hundred-hours.flac", "100.0 h long"), ("three-channels.wav", "3 audio channels")):
            response = client.post("/api/v1/ingest/audio", headers={"X-API-Key": "t"},
                                   files={"audio_file": (name, (media / name).read_bytes())})
            assert response.status_code == 400, response.text
            error = response.json()["error"]
            assert error["code"] == "VALIDATION_ERROR" and message in error["message"]
            assert error["details"]["field"] == "audio_file"
        assert engine.transcriptions.list().total == 0
        assert [p for p in limited_settings.media_dir.rglob("*") if p.is_file()] == []


def test_a_watch_folder_moves_a_too_long_file_to_failed_with_the_reason(limited_settings: Settings,
                                                                          media: Path) -> None:
    folder = limited_settings.watch_dir / "calls"
    folder.mkdir(parents=True)
    with Engine.open(limited_settings) as engine:
        engine.add_service(WatchService(engine))
        (folder / "long.flac").write_bytes((media / "hundred-hours.flac").read_bytes())
        report = wait_failed(folder, "long.flac")
    assert report["error"]["code"] == "VALIDATION_ERROR"
    assert "100.0 h long; at most 4.0 h" in report["error"]["message"]


def test_a_job_whose_header_understated_its_length_fails_with_the_reason(limited_settings: Settings,
                                                                          media: Path) -> None:
    settings = limited_settings.model_copy(update={"max_audio_seconds": 60.0})
    with Engine.open(settings) as engine:
        job = engine.jobs.wait(engine.ingest.audio_file(media / "lying.flac").job.job_id, timeout=120)
    assert job.status is JobStatus.FAILED and job.error_code == "VALIDATION_ERROR"
    assert job.last_error is not None and "header announces 1.0 s" in job.last_error


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[MediaSandbox]:
    box = MediaSandbox(tmp_path / "scratch", max_seconds=FOUR_HOURS, max_channels=8,
                       memory_limit=memory_limit_for(FOUR_HOURS, 8), helpers=1)
    yield box
    box.close()


def test_a_decoder_that_crashes_fails_its_file_and_the_next_one_decodes(sandbox: MediaSandbox, tmp_path: Path,
                                                                         mono_call: Conversation) -> None:
    stuck = tmp_path / "never-ends.wav"
    os.mkfifo(stuck)  # the decoder waits on it forever, until it is killed
    outcome: list[BaseException] = []

    def decode_stuck() -> None:
        try:
            sandbox.decode(stuck)
        except BaseException as error:
            outcome.append(error)

    sandbox.probe(mono_call.path)  # the helper is up, and waits for work
    [pid] = sandbox.helper_pids()
    decoding = threading.Thread(target=decode_stuck)
    decoding.start()
    time.sleep(1.0)  # it is inside av.open, reading the pipe
    assert sandbox.helper_pids() == [] and not outcome  # busy with it
    os.kill(pid, signal.SIGSEGV)  # what a decoder bug does
    decoding.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationError)
    assert "crashed (SIGSEGV)" in outcome[0].message and "never-ends.wav" in outcome[0].message
    waveform = sandbox.decode(mono_call.path)  # a fresh helper
    assert waveform.duration == pytest.approx(mono_call.duration, abs=0.1)
    assert list((tmp_path / "scratch").iterdir()) == []  # no decoded file left behind


def test_a_file_that_needs_more_memory_than_allowed_fails_its_job_and_work_goes_on(
        limited_settings: Settings, media: Path, mono_call: Conversation) -> None:
    settings = limited_settings.model_copy(update={"media_memory_limit_mb": 400})
    with Engine.open(settings) as engine:
        big = engine.jobs.wait(engine.ingest.audio_file(media / "forty-minutes-stereo.flac").job.job_id,
                                  timeout=180)
        assert big.status is JobStatus.FAILED and big.last_error is not None
        assert "memory" in big.last_error
        small = engine.jobs.wait(engine.ingest.audio_file(mono_call.path).job.job_id, timeout=180)
        assert small.status is JobStatus.COMPLETED, small.last_error
        assert engine.transcriptions.get(small.transcription_id).status is TranscriptionStatus.COMPLETED
