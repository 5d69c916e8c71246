"""Stereo calls with one party per channel are transcribed channel by channel: exact attribution,
overlapping speech kept, the channel decision made once per recording."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.channels import ChannelLayoutAnalyser, channel_label
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import WhisperTranscriber
from heard_local.config import Settings
from heard_local.pipeline.align import align_channels
from heard_local.pipeline.audio import conversation_from_waveform
from heard_local.pipeline.progress import ProgressHook, null_hook
from heard_local.pipeline.protocols import (
    AsrResult,
    AsrSegment,
    ChannelLayout,
    DiarizeOptions,
    SpeakerTurn,
    TranscribeOptions,
    Waveform,
    Word,
)
from tests.audio.conftest import PHRASE_WORDS, in_order_within
from tests.support import speech


@pytest.fixture(scope="module")
def transcriber(tiny_whisper_dir: Path) -> WhisperTranscriber:
    return WhisperTranscriber(Settings(whisper_model=str(tiny_whisper_dir), _env_file=None))


@dataclass
class AudibleScript:
    """A speech recogniser that knows the script and says the turns audible in the audio it is given (a
    fake at the model boundary: which words reach which speaker is then up to the real pipeline)."""

    conversation: speech.Conversation
    concurrent_calls: int = 2
    calls: list[int] = field(default_factory=list)  # channels of each call's waveform

    def transcribe(self, waveform: Waveform, options: TranscribeOptions, hook: ProgressHook) -> AsrResult:
        self.calls.append(waveform.channels)
        hook("transcribe", completed=waveform.duration, total=waveform.duration)
        segments = []
        for turn in self.conversation.turns:
            span = waveform.mono[round(turn.start * 16_000):round(turn.end * 16_000)]
            if span.size and float(np.abs(span).max()) > 0.05:
                tokens = turn.text.split()
                step = (turn.end - turn.start) / len(tokens)
                words = [Word(turn.start + i * step, turn.start + (i + 1) * step, " " + t)
                         for i, t in enumerate(tokens)]
                segments.append(AsrSegment(turn.start, turn.end, " " + turn.text, words))
        return AsrResult(language="en", segments=segments)


class CountingAnalyser:
    def __init__(self) -> None:
        self.calls = 0

    def analyse(self, waveform: Waveform) -> ChannelLayout:
        self.calls += 1
        return ChannelLayoutAnalyser().analyse(waveform)


def test_each_channel_is_transcribed_on_its_own_and_its_words_are_its_partys(
        stereo_call: speech.Conversation) -> None:
    scripted = AudibleScript(stereo_call)
    analyser = CountingAnalyser()
    result = conversation_from_waveform(decode_audio(stereo_call.path), transcriber=scripted,
                                        diarizer=AutoDiarizer(model=None), channels=analyser,
                                        diarize_options=DiarizeOptions(agent_name="Alice"))
    assert scripted.calls == [1, 1]  # two mono channels, no mix
    assert analyser.calls == 1  # the diarizer took the pipeline's decision instead of analysing again
    assert [s.text for s in result.segments] == [t.text for t in stereo_call.turns]
    expected = {"A": "SPEAKER_00", "B": "SPEAKER_01"}
    assert [s.speaker for s in result.segments] == [expected[t.speaker] for t in stereo_call.turns]
    assert result.speaker_roles == {"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"}
    assert result.warnings == []


def test_the_agent_channel_from_metadata_still_names_the_roles(stereo_call: speech.Conversation) -> None:
    result = conversation_from_waveform(decode_audio(stereo_call.path), transcriber=AudibleScript(stereo_call),
                                        diarizer=AutoDiarizer(model=None), channels=ChannelLayoutAnalyser(),
                                        diarize_options=DiarizeOptions(agent_name="Bob", agent_channel=1))
    assert result.speaker_roles == {"SPEAKER_00": "Customer", "SPEAKER_01": "Agent"}


def test_a_mono_recording_or_one_speaker_asked_for_is_transcribed_as_the_mix(
        stereo_call: speech.Conversation, mono_call: speech.Conversation) -> None:
    for path, options in ((mono_call.path, DiarizeOptions()), (stereo_call.path, DiarizeOptions(num_speakers=1))):
        scripted = AudibleScript(stereo_call if path == stereo_call.path else mono_call)
        waveform = decode_audio(path)
        result = conversation_from_waveform(waveform, transcriber=scripted,
                                            diarizer=AutoDiarizer(model=None, mode="off"),
                                            channels=ChannelLayoutAnalyser(), diarize_options=options)
        assert scripted.calls == [waveform.channels]  # one call, on the whole recording (it reads the mix)
        assert result.num_speakers == 1


def test_the_diarizer_follows_the_decision_it_is_given(stereo_call: speech.Conversation) -> None:
    waveform = decode_audio(stereo_call.path)
    told_same = DiarizeOptions(channel_layout=ChannelLayout(separate=False, reason="told so"))
    assert AutoDiarizer(model=None).diarize(waveform, told_same, null_hook).method == "builtin"  # the mix
    told_separate = DiarizeOptions(channel_layout=ChannelLayoutAnalyser().analyse(waveform))
    assert AutoDiarizer(model=None).diarize(waveform, told_separate, null_hook).method == "channels"


def test_tiny_whisper_per_channel_both_at_once_and_one_after_the_other_agree(
        stereo_call: speech.Conversation, transcriber: WhisperTranscriber) -> None:
    waveform = decode_audio(stereo_call.path)
    progress: list[tuple[float, float]] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        if step == "transcribe" and completed is not None and total is not None:
            progress.append((completed, total))

    assert transcriber.concurrent_calls == 2
    together = conversation_from_waveform(waveform, transcriber=transcriber, diarizer=AutoDiarizer(model=None),
                                          channels=ChannelLayoutAnalyser(), hook=hook)
    transcriber.concurrent_calls = 1
    try:
        one_by_one = conversation_from_waveform(waveform, transcriber=transcriber, diarizer=AutoDiarizer(model=None),
                                                channels=ChannelLayoutAnalyser())
    finally:
        transcriber.concurrent_calls = 2
    # the tiny model says the same phrase at the same time on both channels: a word said on both at once
    # is kept only where it is louder (an echo), so each party keeps part of the phrase, in order
    for result in (together, one_by_one):
        for speaker in ("SPEAKER_00", "SPEAKER_01"):
            words = " ".join(s.text for s in result.segments if s.speaker == speaker).split()
            assert words and in_order_within(words, PHRASE_WORDS), (speaker, words)
    assert together.segments == one_by_one.segments
    # one progress over both channels: the total is both channels' audio, and it ends complete
    assert all(total == pytest.approx(2 * waveform.duration) for _, total in progress)
    assert progress[-1][0] == pytest.approx(progress[-1][1])


def _segment(words: list[tuple[float, float, str]]) -> AsrSegment:
    return AsrSegment(words[0][0], words[-1][1], "".join(f" {t}" for _, _, t in words),
                      [Word(s, e, f" {t}") for s, e, t in words])


def test_speech_at_the_same_time_stays_two_overlapping_segments_each_with_its_words() -> None:
    left = _segment([(0.0, 0.4, "He"), (0.4, 0.8, "began"), (0.8, 1.3, "a"), (1.3, 2.0, "complaint")])
    right = _segment([(0.5, 1.0, "The"), (1.0, 1.6, "horizon"), (1.6, 2.2, "seems")])
    alignment = align_channels([(channel_label(0), [left]), (channel_label(1), [right])])
    assert [(s.speaker, s.text, s.start, s.end) for s in alignment.segments] == [
        ("SPEAKER_00", "He began a complaint", 0.0, 2.0), ("SPEAKER_01", "The horizon seems", 0.5, 2.2)]
    assert [[w["word"].strip() for w in ws] for ws in alignment.words] == [
        ["He", "began", "a", "complaint"], ["The", "horizon", "seems"]]
    assert alignment.roles({"channel_0": "Agent", "channel_1": "Customer"}) == {
        "SPEAKER_00": "Agent", "SPEAKER_01": "Customer"}


def test_a_reply_in_a_pause_ends_the_segment_so_the_call_reads_in_order() -> None:
    agent = _segment([(0.0, 0.5, "Can"), (0.5, 1.0, "I"), (1.0, 1.4, "help?"), (2.6, 3.0, "Sure.")])
    caller = _segment([(1.6, 2.0, "Yes"), (2.0, 2.4, "please.")])
    alignment = align_channels([("channel_0", [agent]), ("channel_1", [caller])])
    assert [(s.speaker, s.text) for s in alignment.segments] == [
        ("SPEAKER_00", "Can I help?"), ("SPEAKER_01", "Yes please."), ("SPEAKER_00", "Sure.")]


def test_the_other_party_leaking_in_is_dropped_and_real_overlap_kept() -> None:
    # the caller's "Yes please" leaks into the agent's channel, 20 dB down; both say something at 3.0 s
    agent = _segment([(0.0, 0.5, "Can"), (0.5, 1.0, "I"), (1.0, 1.4, "help?"), (1.6, 2.0, "Yes"),
                      (2.0, 2.4, "please."), (3.0, 3.4, "Good.")])
    caller = _segment([(1.6, 2.0, "Yes"), (2.0, 2.4, "please."), (3.1, 3.5, "Thanks.")])
    turns = [SpeakerTurn(0.0, 1.5, "channel_0"), SpeakerTurn(1.55, 2.45, "channel_1"),
             SpeakerTurn(3.0, 3.4, "channel_0"), SpeakerTurn(3.1, 3.5, "channel_1")]
    by_turns = align_channels([("channel_0", [agent]), ("channel_1", [caller])], turns)
    assert [(s.speaker, s.text) for s in by_turns.segments] == [
        ("SPEAKER_00", "Can I help?"), ("SPEAKER_01", "Yes please. Thanks."), ("SPEAKER_00", "Good.")]

    # a leak so loud that both channels count as active: the same word at the same time stays where louder
    def loudness(label: str, start: float, end: float) -> float:
        caller_speaking = 1.5 <= start < 2.5
        return 1.0 if (label == "channel_1") == caller_speaking else 0.1

    both_active = [SpeakerTurn(0.0, 3.5, "channel_0"), SpeakerTurn(1.5, 3.5, "channel_1")]
    by_loudness = align_channels([("channel_0", [agent]), ("channel_1", [caller])], both_active, loudness)
    assert [(s.speaker, s.text) for s in by_loudness.segments] == [
        ("SPEAKER_00", "Can I help?"), ("SPEAKER_01", "Yes please. Thanks."), ("SPEAKER_00", "Good.")]
