"""The audio conversation stage over the real adapters: decode once, transcribe || diarize, align."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heard_local.adapters.audio_decode import PyAvDecoder, decode_audio
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import WhisperTranscriber
from heard_local.config import Settings
from heard_local.pipeline.audio import NO_SPEECH_WARNING, conversation_from_audio, conversation_from_waveform
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import (
    AsrResult,
    AsrSegment,
    DiarizationResult,
    DiarizeOptions,
    TranscribeOptions,
    Waveform,
    Word,
)
from tests.audio.conftest import PHRASE_WORDS
from tests.support import speech


@pytest.fixture(scope="module")
def transcriber(tiny_whisper_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(Settings(whisper_model=str(tiny_whisper_dir), _env_file=None))


class ScriptedTranscriber:
    """A speech recogniser that knows the script: each turn's words spread evenly over the turn.
    (A fake at the model boundary, so speaker attribution can be checked on real audio and the real
    channel diarizer.)"""

    def __init__(self, conversation: speech.Conversation):
        self.conversation = conversation

    def transcribe(self, waveform: Waveform, options: TranscribeOptions, hook: ProgressHook) -> AsrResult:
        segments = []
        for turn in self.conversation.turns:
            tokens = turn.text.split()
            step = (turn.end - turn.start) / len(tokens)
            words = [Word(turn.start + i * step, turn.start + (i + 1) * step, " " + t) for i, t in enumerate(tokens)]
            segments.append(AsrSegment(turn.start, turn.end, " " + turn.text, words))
        return AsrResult(language="en", segments=segments)


class BrokenDiarizer:
    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        raise RuntimeError("speaker model crashed")


def test_a_stereo_call_becomes_speaker_labelled_segments(stereo_call: speech.Conversation,
                                                         transcriber: WhisperTranscriber) -> None:
    steps: list[str] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        steps.append(step)

    result = conversation_from_audio(stereo_call.path, decoder=PyAvDecoder(), transcriber=transcriber,
                                     diarizer=AutoDiarizer(model=None),
                                     diarize_options=DiarizeOptions(agent_name="Alice"), hook=hook)
    assert " ".join(s.text for s in result.segments).split() == PHRASE_WORDS
    assert result.language == "en"
    assert result.duration == pytest.approx(stereo_call.duration, abs=0.01)
    assert result.warnings == []
    speakers = list(dict.fromkeys(s.speaker for s in result.segments))
    assert speakers == [f"SPEAKER_{i:02d}" for i in range(len(speakers))]
    assert set(result.speaker_roles.values()) <= {"Agent", "Customer"}
    assert result.words is not None and len(result.words) == len(result.segments)
    assert [w["word"].strip() for ws in result.words for w in ws] == PHRASE_WORDS
    for segment, words in zip(result.segments, result.words, strict=True):
        assert segment.start == words[0]["start"] and segment.end == max(w["end"] for w in words)
    assert steps[0] == "decode" and steps[-1] == "align"
    assert "transcribe" in steps and "diarize/channels" in steps


def test_each_party_gets_exactly_their_words(stereo_call: speech.Conversation) -> None:
    result = conversation_from_audio(stereo_call.path, decoder=PyAvDecoder(),
                                     transcriber=ScriptedTranscriber(stereo_call), diarizer=AutoDiarizer(model=None),
                                     diarize_options=DiarizeOptions(agent_name="Alice"))
    assert [s.text for s in result.segments] == [t.text for t in stereo_call.turns]
    expected_ids = {"A": "SPEAKER_00", "B": "SPEAKER_01"}
    assert [s.speaker for s in result.segments] == [expected_ids[t.speaker] for t in stereo_call.turns]
    assert result.speaker_roles == {"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"}
    assert result.num_speakers == 2


def test_the_agent_on_the_right_channel(stereo_call: speech.Conversation) -> None:
    result = conversation_from_audio(stereo_call.path, decoder=PyAvDecoder(),
                                     transcriber=ScriptedTranscriber(stereo_call), diarizer=AutoDiarizer(model=None),
                                     diarize_options=DiarizeOptions(agent_name="Bob", agent_channel=1))
    assert result.speaker_roles == {"SPEAKER_00": "Customer", "SPEAKER_01": "Agent"}


def test_without_diarization_everything_is_one_speaker_and_the_result_says_why(
        mono_call: speech.Conversation, transcriber: WhisperTranscriber) -> None:
    result = conversation_from_audio(mono_call.path, decoder=PyAvDecoder(), transcriber=transcriber,
                                     diarizer=AutoDiarizer(model=None, mode="off"))
    assert {s.speaker for s in result.segments} == {"SPEAKER_00"}
    assert any("one speaker" in w and "HEARD_DIARIZER=off" in w for w in result.warnings)


def test_a_failing_speaker_model_costs_the_speakers_not_the_transcript(mono_call: speech.Conversation,
                                                                       transcriber: WhisperTranscriber) -> None:
    result = conversation_from_audio(mono_call.path, decoder=PyAvDecoder(), transcriber=transcriber,
                                     diarizer=BrokenDiarizer())
    assert " ".join(s.text for s in result.segments).split() == PHRASE_WORDS
    assert {s.speaker for s in result.segments} == {"SPEAKER_00"}
    assert any("speaker model crashed" in w for w in result.warnings)


def test_silence_completes_with_no_segments_and_a_warning(transcriber: WhisperTranscriber, shared_data: type) -> None:
    waveform = decode_audio(shared_data("pyannote-audio", "tests-data", "empty.wav"))
    result = conversation_from_waveform(waveform, transcriber=transcriber, diarizer=AutoDiarizer(model=None))
    assert result.segments == [] and result.num_speakers == 0 and result.language is None
    assert result.warnings == [NO_SPEECH_WARNING]
    digital = Waveform(np.zeros((2, 16_000 * 3), np.float32))
    assert conversation_from_waveform(digital, transcriber=transcriber, diarizer=None).warnings == [NO_SPEECH_WARNING]


def test_decoder_notes_reach_the_result(shared_data: type, tmp_path: Path, transcriber: WhisperTranscriber) -> None:
    whole = shared_data("whisper.cpp", "jfk.mp3").read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole[: len(whole) // 2])
    result = conversation_from_audio(cut, decoder=PyAvDecoder(), transcriber=transcriber, diarizer=None)
    assert any("truncated" in w for w in result.warnings)
    assert result.segments
