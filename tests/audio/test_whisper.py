"""faster-whisper transcription on a tiny random-weight model that says a known phrase per window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.whisper import (
    BATCHED_MIN_SECONDS,
    MAX_HOTWORD_CHARS,
    WhisperTranscriber,
    hotwords_for,
    resolve_compute_type,
    speech_regions,
)
from heard_local.config import Settings
from heard_local.errors import ModelUnavailableError
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import TranscribeOptions, Waveform
from tests.audio.conftest import PHRASE_WORDS


@pytest.fixture(scope="module")
def transcriber(tiny_whisper_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(Settings(whisper_model=str(tiny_whisper_dir), _env_file=None))


def spoken_words(result: object) -> list[str]:
    return [w.text.strip() for s in result.segments for w in s.words]


def test_the_tiny_model_is_a_real_faster_whisper_model(tiny_whisper_dir: Path) -> None:
    config = json.loads((tiny_whisper_dir / "config.json").read_text())
    assert len(config["lang_ids"]) == 99
    assert (tiny_whisper_dir / "tokenizer.json").exists() and (tiny_whisper_dir / "model.bin").exists()


def test_transcribes_with_word_timestamps_and_detects_the_language(transcriber: WhisperTranscriber,
                                                                    shared_data: type) -> None:
    waveform = decode_audio(shared_data("whisper.cpp", "jfk.wav"))
    progress: list[tuple[str, float | None, float | None]] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        progress.append((step, completed, total))

    result = transcriber.transcribe(waveform, TranscribeOptions(), hook)
    assert transcriber.compute_type == "int8" and transcriber.device == "cpu"
    assert result.language == "en" and result.language_probability > 0.9
    assert spoken_words(result) == PHRASE_WORDS
    words = [w for s in result.segments for w in s.words]
    assert all(0.0 <= w.start <= w.end <= waveform.duration + 0.01 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert progress[0] == ("transcribe", 0.0, waveform.duration)
    assert progress[-1] == ("transcribe", waveform.duration, waveform.duration)


def test_a_forced_language_is_used_and_the_vocabulary_goes_in(transcriber: WhisperTranscriber,
                                                               shared_data: type) -> None:
    waveform = decode_audio(shared_data("faster-whisper", "hotwords.mp3"))
    result = transcriber.transcribe(waveform, TranscribeOptions(language="de", vocabulary=["ComfyUI", "Zürich"]),
                                    null_hook)
    assert result.language == "de"
    assert spoken_words(result) == PHRASE_WORDS


def test_long_recordings_use_the_batched_pipeline(transcriber: WhisperTranscriber, shared_data: type) -> None:
    waveform = decode_audio(shared_data("faster-whisper", "multilingual.mp3"))  # 60 s
    assert waveform.duration >= BATCHED_MIN_SECONDS and transcriber.uses_batched(waveform.duration)
    result = transcriber.transcribe(waveform, TranscribeOptions(), null_hook)
    # every VAD chunk is decoded on its own: the phrase once per chunk, chunks in time order
    assert len(result.segments) >= 2
    assert all([w.text.strip() for w in s.words] == PHRASE_WORDS for s in result.segments)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts) and result.segments[-1].end <= waveform.duration + 0.01


def test_silence_gives_no_segments(transcriber: WhisperTranscriber, shared_data: type) -> None:
    silence = Waveform(np.zeros((1, 16_000 * 5), np.float32))
    assert transcriber.transcribe(silence, TranscribeOptions(), null_hook).segments == []


def test_vad_keeps_all_annotated_speech_of_a_real_call(shared_data: type) -> None:
    waveform = decode_audio(shared_data("pyannote-audio", "sample.wav"))
    frames = int(waveform.duration * 100)
    reference = np.zeros(frames, bool)
    for line in shared_data("pyannote-audio", "sample.rttm").read_text().splitlines():
        fields = line.split()
        start, length = float(fields[3]), float(fields[4])
        reference[int(start * 100):int((start + length) * 100)] = True
    detected = np.zeros(frames, bool)
    for start, end in speech_regions(waveform):
        detected[int(start * 100):int(end * 100)] = True
    recall = (reference & detected).sum() / reference.sum()
    precision = (reference & detected).sum() / detected.sum()
    assert recall > 0.99, "VAD must not cut speech away from the transcriber"
    assert precision > 0.9


def test_hotwords_are_cut_to_fit_whisper_prompt() -> None:
    assert hotwords_for([]) is None
    assert hotwords_for(["ComfyUI", "Heard"]) == "ComfyUI, Heard"
    cut = hotwords_for([f"term{i:03d}" for i in range(500)])
    assert cut is not None and len(cut) <= MAX_HOTWORD_CHARS and cut.startswith("term000, term001")


def test_compute_type_auto_is_int8_on_cpu() -> None:
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("float32", "cpu") == "float32"


def test_a_missing_model_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError) as missing_dir:
        WhisperTranscriber(Settings(whisper_model=str(tmp_path / "nope"), _env_file=None))
    assert "HEARD_WHISPER_MODEL" in missing_dir.value.message
    with pytest.raises(ModelUnavailableError) as not_a_model:
        WhisperTranscriber(Settings(whisper_model=str(tmp_path), _env_file=None))
    assert "not a valid CTranslate2 Whisper model" in not_a_model.value.message
    with pytest.raises(ModelUnavailableError) as offline:  # HF_HUB_OFFLINE=1 in the test suite
        WhisperTranscriber(Settings(whisper_model="tiny.en", _env_file=None))
    assert "internet" in offline.value.message and offline.value.retryable
