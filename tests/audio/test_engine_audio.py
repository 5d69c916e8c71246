"""End to end through the engine: an audio file in, a COMPLETED transcription with aligned segments stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard_local.config import Settings
from heard_local.domain import JobStatus, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.errors import UnsupportedFormatError
from tests.audio.conftest import PHRASE_WORDS, in_order_within
from tests.support import speech
from tests.support.engine_internals import models_of, store_of

FORMATS = ("wav", "mp3", "flac", "m4a", "webm", "ogg")


def run(engine: Engine, path: Path, **metadata: object) -> str:
    submission = engine.ingest.audio_file(path, metadata=metadata or None)
    job = engine.jobs.wait(submission.job.job_id, timeout=120)
    assert job.status in (JobStatus.COMPLETED, JobStatus.FAILED), "the job did not finish in time"
    return submission.job.transcription_id


def test_every_format_ends_up_as_a_stored_speaker_aligned_transcription(
        audio_engine: Engine, stereo_call: speech.Conversation, tmp_path: Path) -> None:
    for fmt in FORMATS:
        # named .bin: the content decides the format, never the name
        path = speech.convert(stereo_call.path, tmp_path / f"call.{fmt}").rename(tmp_path / f"call-{fmt}.bin")
        transcription_id = run(audio_engine, path, agent_name="Alice", customer_phone="+1 415 555 0100")
        transcription = audio_engine.transcriptions.get(transcription_id)
        assert transcription.status is TranscriptionStatus.COMPLETED, (fmt, transcription.error)
        details = transcription.details
        assert details is not None
        segments = details.conversation.segments
        # one party per channel: each channel is transcribed on its own (the tiny model says its phrase on
        # each, at the same time: a word on both at once stays where it is louder) and its words are that
        # party's
        by_speaker = [" ".join(s.text for s in segments if s.speaker == speaker).split()
                      for speaker in {s.speaker for s in segments}]
        assert all(words and in_order_within(words, PHRASE_WORDS) for words in by_speaker), (fmt, by_speaker)
        assert details.language == "en"
        assert transcription.duration == pytest.approx(stereo_call.duration, abs=0.1)
        assert details.num_speakers == len({s.speaker for s in segments}) == 2
        assert set(details.speakers) == {s.speaker for s in segments}
        assert {info.role for info in details.speakers.values()} == {"Agent", "Customer"}
        assert details.warnings == [], (fmt, details.warnings)
        assert all(s.start is not None and s.end is not None and s.start <= s.end for s in segments)
        words = store_of(audio_engine).transcriptions.words(transcription_id)
        assert [[w["word"].strip() for w in (ws or [])] for ws in words] == [s.text.split() for s in segments]
        api = transcription.to_api()
        assert api["details"]["conversation"]["segments"][0]["speaker"] == "SPEAKER_00"


def test_the_model_is_loaded_once_and_this_machines_speed_feeds_the_estimate(
        audio_engine: Engine, shared_data: type, mono_call: speech.Conversation) -> None:
    assert store_of(audio_engine).model_speed.real_time_factor(audio_engine.settings.whisper_model) is None
    run(audio_engine, shared_data("whisper.cpp", "jfk.wav"))
    first = models_of(audio_engine).transcriber.peek()
    assert first is not None
    factor = store_of(audio_engine).model_speed.real_time_factor(audio_engine.settings.whisper_model)
    assert factor is not None and factor > 0
    assert audio_engine.ingest.estimate_audio_seconds(mono_call.path) == pytest.approx(
        max(1.0, mono_call.duration * factor), rel=0.01)
    transcription_id = run(audio_engine, mono_call.path)
    assert models_of(audio_engine).transcriber.peek() is first
    assert audio_engine.transcriptions.get(transcription_id).status is TranscriptionStatus.COMPLETED


def test_a_corrupt_file_fails_its_job_and_leaves_everything_else_intact(
        audio_engine: Engine, shared_data: type, tmp_path: Path) -> None:
    good = run(audio_engine, shared_data("whisper.cpp", "jfk.mp3"))
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(shared_data("whisper.cpp", "jfk.wav").read_bytes()[:44] + b"\x00" * 10)
    bad = run(audio_engine, corrupt)
    failed = audio_engine.transcriptions.get(bad)
    assert failed.status is TranscriptionStatus.FAILED
    assert failed.error is not None and failed.error.type == "VALIDATION_ERROR" and failed.error.code == 400
    assert "audio" in failed.error.message.lower()
    still = audio_engine.transcriptions.get(good)
    assert still.status is TranscriptionStatus.COMPLETED and still.details.conversation.segments


def test_a_text_file_named_wav_is_refused_before_anything_is_stored(audio_engine: Engine, tmp_path: Path) -> None:
    fake = tmp_path / "notes.wav"
    fake.write_text("This is a meeting transcript, not audio.\n" * 10)
    before = audio_engine.transcriptions.list().total
    with pytest.raises(UnsupportedFormatError):
        audio_engine.ingest.audio_file(fake)
    assert audio_engine.transcriptions.list().total == before


def test_silence_completes_with_no_segments_and_says_so(audio_engine: Engine, shared_data: type) -> None:
    transcription = audio_engine.transcriptions.get(run(audio_engine, shared_data("pyannote-audio", "tests-data",
                                                                                 "empty.wav")))
    assert transcription.status is TranscriptionStatus.COMPLETED
    assert transcription.details.conversation.segments == []
    assert transcription.details.num_speakers == 0
    assert any("No speech" in w for w in transcription.details.warnings)


def test_non_ascii_file_names_and_speaker_renaming(audio_engine: Engine, shared_data: type) -> None:
    path = shared_data("pyannote-audio", "tests-data", "trñ00.wav")
    submission = audio_engine.ingest.audio_file(path, original_name=path.name)
    audio_engine.jobs.wait(submission.job.job_id, timeout=120)
    transcription = audio_engine.transcriptions.get(submission.job.transcription_id)
    assert transcription.status is TranscriptionStatus.COMPLETED and transcription.name == "trñ00.wav"
    assert any("one speaker" in w for w in transcription.details.warnings)  # diarization is off here
    renamed = audio_engine.transcriptions.rename_speaker(transcription.transcription_id, "SPEAKER_00", "Dr. Núñez")
    assert renamed.speaker_label("SPEAKER_00") == "Dr. Núñez"


def test_with_a_pyannote_pipeline_directory(settings: Settings, tiny_whisper_dir: Path, tiny_pyannote_dir: Path,
                                            speech_dir: Path) -> None:
    meeting = speech.build_conversation(speech_dir / "meeting.ogg", [
        ("A", "Shall we start the meeting?"), ("C", "Yes, the budget first."), ("A", "Fine, go ahead.")])
    configured = settings.model_copy(update={"whisper_model": str(tiny_whisper_dir),
                                             "diarization_model": str(tiny_pyannote_dir), "diarizer": "auto"})
    with Engine.open(configured) as engine:
        transcription = engine.transcriptions.get(run(engine, meeting.path, max_speakers=3))
        assert models_of(engine).diarizer.peek().load_error is None
    assert transcription.status is TranscriptionStatus.COMPLETED, transcription.error
    details = transcription.details
    assert " ".join(s.text for s in details.conversation.segments).split() == PHRASE_WORDS
    assert details.warnings == []  # pyannote told the speakers apart: no "one speaker" warning
    assert 1 <= details.num_speakers <= 3


def test_a_missing_whisper_model_fails_the_job_with_what_to_do(settings: Settings, shared_data: type,
                                                               tmp_path: Path) -> None:
    configured = settings.model_copy(update={"whisper_model": str(tmp_path / "no-model"), "job_max_attempts": 2})
    with Engine.open(configured) as engine:
        transcription = engine.transcriptions.get(run(engine, shared_data("whisper.cpp", "jfk.wav")))
    assert transcription.status is TranscriptionStatus.FAILED
    assert "HEARD_WHISPER_MODEL" in transcription.error.message
