"""The stereo channel diarizer: deciding when it applies, and its accuracy on spoken conversations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.channels import ChannelDiarizer, analyse_channels, channel_roles, channel_turns
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import DiarizeOptions, Waveform
from tests.support import speech

MAX_DER = 0.02


def hypothesis(waveform: Waveform) -> list[tuple[float, float, str]]:
    return [(t.start, t.end, t.speaker) for t in channel_turns(waveform)]


@pytest.mark.parametrize(("name", "variant"), [
    ("clean", {}),
    ("crosstalk-noise", {"crosstalk_db": 20.0, "noise_db": -55.0}),  # the other party leaks in, plus line hiss
    ("overlap", {"gap": -0.6}),  # the customer starts before the agent finishes
    ("fast", {"gap": 0.25}),  # quick turn-taking
])
def test_der_on_spoken_stereo_calls_is_under_two_percent(speech_dir: Path, name: str,
                                                         variant: dict[str, float]) -> None:
    call = speech.build_conversation(speech_dir / f"call-{name}.wav", stereo=True, **variant)
    waveform = decode_audio(call.path)
    analysis = analyse_channels(waveform)
    assert analysis.separate, analysis.reason
    error = call.der(hypothesis(waveform))
    assert error < MAX_DER, f"DER {error:.3%}"


def test_der_with_four_speakers_alternating_over_two_channels(speech_dir: Path) -> None:
    script = [("A", "Good morning, thank you for calling."), ("B", "Hi, I would like to check my balance."),
              ("A", "Of course, one moment please."), ("B", "Thanks, I will wait.")]
    call = speech.build_conversation(speech_dir / "second-call.flac", script, stereo=True, gap=0.4)
    waveform = decode_audio(call.path)
    assert call.der(hypothesis(waveform)) < MAX_DER


def test_the_real_stereo_recording_is_one_speaker_per_channel(shared_data: type) -> None:
    waveform = decode_audio(shared_data("faster-whisper", "stereo_diarization.wav"))
    analysis = analyse_channels(waveform)
    assert analysis.separate, analysis.reason
    turns = channel_turns(waveform)
    assert {t.speaker for t in turns} == {"channel_0", "channel_1"}
    # left says a long sentence, right a short one, at the same time (README: ~4 s vs ~2 s)
    spoken = {label: sum(t.end - t.start for t in turns if t.speaker == label) for label in ("channel_0", "channel_1")}
    assert spoken["channel_0"] > spoken["channel_1"] > 1.0


def test_the_same_speech_on_both_channels_is_not_a_two_party_call(shared_data: type,
                                                                  mono_call: speech.Conversation) -> None:
    jfk = decode_audio(shared_data("whisper", "jfk.flac"))  # stereo file, mono content
    assert not analyse_channels(jfk).separate
    # a stereo microphone: everyone on both channels, at different levels and a small delay
    mono = decode_audio(mono_call.path).mono
    left = np.concatenate([mono, np.zeros(12, np.float32)])
    right = 0.5 * np.concatenate([np.zeros(12, np.float32), mono])
    assert not analyse_channels(Waveform(np.stack([left, right]))).separate
    # one channel silent: nothing to tell the parties apart with
    assert not analyse_channels(Waveform(np.stack([mono, np.zeros_like(mono)]))).separate


def test_roles_follow_the_agent_channel() -> None:
    assert channel_roles(2, DiarizeOptions()) == {}
    assert channel_roles(2, DiarizeOptions(agent_name="Alice")) == {"channel_0": "Agent", "channel_1": "Customer"}
    assert channel_roles(2, DiarizeOptions(agent_name="Alice", agent_channel=1)) == {
        "channel_1": "Agent", "channel_0": "Customer"}
    assert channel_roles(2, DiarizeOptions(agent_channel=5)) == {}


def test_the_auto_diarizer_uses_channels_for_calls_and_the_built_in_without_a_model(
        stereo_call: speech.Conversation, mono_call: speech.Conversation) -> None:
    diarizer = AutoDiarizer(model=None)
    call = diarizer.diarize(decode_audio(stereo_call.path), DiarizeOptions(agent_name="Alice"), null_hook)
    assert call.method == "channels" and call.warnings == []
    assert call.roles == {"channel_0": "Agent", "channel_1": "Customer"}
    mono = diarizer.diarize(decode_audio(mono_call.path), DiarizeOptions(), null_hook)
    assert mono.method == "builtin" and mono.turns and mono.warnings == []  # no pipeline asked for: no note
    pyannote_only = AutoDiarizer(model=None, mode="pyannote").diarize(decode_audio(mono_call.path),
                                                                      DiarizeOptions(), null_hook)
    assert pyannote_only.method == "single" and "HEARD_DIARIZATION_MODEL" in pyannote_only.warnings[0]
    told_one = diarizer.diarize(decode_audio(stereo_call.path), DiarizeOptions(num_speakers=1), null_hook)
    assert told_one.method == "single" and told_one.warnings == []


def test_channel_diarizer_reports_progress(stereo_call: speech.Conversation) -> None:
    calls: list[tuple[str, float | None, float | None]] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        calls.append((step, completed, total))

    ChannelDiarizer().diarize(decode_audio(stereo_call.path), DiarizeOptions(), hook)
    assert calls[0] == ("channels", 0, 1) and calls[-1] == ("channels", 1, 1)
