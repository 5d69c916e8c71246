"""The voice diarizer (the built-in before segmentation-3.0) on its real weights (resemblyzer's encoder,
Silero VAD) and real recordings with ground truth: the issue's targets as assertions, with a margin over
what was measured (benchmarks/quality_diarization.py prints the same numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heard_local.adapters.diarization import AutoDiarizer, build_diarizer
from heard_local.adapters.voice_diarization import VoiceDiarizer, VoiceParams
from heard_local.config import Settings
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import DiarizeOptions, Waveform
from tests.support import diarization_truth
from tests.support.diarization_truth import Recording, as_tuples, diarize

# Measured (python -m benchmarks quality, December 2026): sample.wav 0.140 with 2/2 speakers; AMI
# debug.test + debug.development mean 0.539, the count right on 1 of 4. Asserted with a margin over
# those; issue 14's AMI targets (a mean of 0.30, the count right on 3 of 4) are not reached yet.
SAMPLE_MAX_DER = 0.16
AMI_MAX_MEAN_DER = 0.58
AMI_MIN_RIGHT_COUNTS = 1


@pytest.fixture(scope="module")
def diarizer() -> VoiceDiarizer:
    return VoiceDiarizer()


def scored(diarizer: VoiceDiarizer, recording: Recording, **options: int) -> tuple[float, int, float]:
    """(DER, speakers found, DER of the same speech all given to one speaker)."""
    result = diarize(diarizer, recording.samples(), **options)
    assert result.method == "voice"
    hypothesis = as_tuples(result.turns)
    one_voice = [(t.start, t.end, "one") for t in result.turns]
    return (diarization_truth.der(recording, hypothesis), len({t.speaker for t in result.turns}),
            diarization_truth.der(recording, one_voice))


def test_the_phone_call_has_its_two_speakers(diarizer: VoiceDiarizer, truth: None) -> None:
    error, found, one_voice = scored(diarizer, diarization_truth.sample_call())
    assert found == 2
    assert error <= SAMPLE_MAX_DER < one_voice


def test_the_ami_excerpts(diarizer: VoiceDiarizer, truth: None) -> None:
    measured = [(recording, *scored(diarizer, recording))
                for recording in [*diarization_truth.ami("test"), *diarization_truth.ami("development")]]
    mean = sum(error for _, error, _, _ in measured) / len(measured)
    right = sum(found == recording.speakers for recording, _, found, _ in measured)
    assert mean <= AMI_MAX_MEAN_DER, measured
    assert right >= AMI_MIN_RIGHT_COUNTS, measured
    # telling the voices apart beats giving the same speech to one speaker (measured 0.539 vs 0.578): the
    # gain is the clustering's, not the speech detection's
    one_voice = sum(single for _, _, _, single in measured) / len(measured)
    assert mean < one_voice - 0.02, measured


def test_long_recordings_cluster_a_subset_of_their_windows_and_still_find_the_speakers(truth: None) -> None:
    # (what a long recording gets: spectral clustering is quadratic in memory, so past
    # max_clustered_windows only evenly spaced windows are clustered and every window is resegmented)
    recording = diarization_truth.sample_call()
    everything = scored(VoiceDiarizer(), recording)
    subset = scored(VoiceDiarizer(VoiceParams(max_clustered_windows=30)), recording)  # of 88
    assert subset[1] == 2
    assert subset[0] <= everything[0] + 0.05, (subset, everything)


def test_speaker_count_hints_are_respected(diarizer: VoiceDiarizer, truth: None) -> None:
    meeting = diarization_truth.ami("test")[0].samples()
    call = diarization_truth.sample_call().samples()

    def speakers(samples: np.ndarray, **options: int) -> int:
        return len({t.speaker for t in diarize(diarizer, samples, **options).turns})

    assert speakers(call, num_speakers=3) == 3
    assert speakers(meeting, num_speakers=2) == 2
    assert speakers(meeting, min_speakers=4) >= 4
    assert speakers(call, max_speakers=1) == 1
    assert speakers(meeting, max_speakers=2) <= 2


def test_silence_and_very_short_audio(diarizer: VoiceDiarizer, shared_data: type) -> None:
    from tests.diarization.recordings import read_wav

    empty = read_wav(shared_data("pyannote-audio", "tests-data", "empty.wav"))[0]
    assert len({t.speaker for t in diarize(diarizer, empty).turns}) <= 1
    assert diarize(diarizer, np.zeros(0, np.float32)).turns == []
    assert diarize(diarizer, np.zeros(16_000 * 5, np.float32)).turns == []
    call = diarization_truth.sample_call().samples()
    # up to two seconds of speech: too little to tell voices apart, so one speaker, inside the audio (2.013 s:
    # the last 20 ms frame reaches past the end)
    for seconds in (0.05, 0.4, 1.2, 2.013):
        start = int(7.0 * 16_000)
        piece = call[start:start + int(seconds * 16_000)]
        turns = diarize(diarizer, piece).turns
        assert len({t.speaker for t in turns}) <= 1
        assert all(0.0 <= t.start < t.end <= seconds + 1e-6 for t in turns)


def test_turns_are_inside_the_audio_and_progress_is_reported(diarizer: VoiceDiarizer, truth: None) -> None:
    steps: list[str] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        steps.append(step)

    recording = diarization_truth.sample_call()
    waveform = Waveform(samples=recording.samples()[None, :])
    result = diarizer.diarize(waveform, DiarizeOptions(), hook)
    assert result.turns and all(0.0 <= t.start < t.end <= waveform.duration for t in result.turns)
    assert "embeddings" in steps and "clustering" in steps


def test_with_no_token_the_engine_diarizer_is_the_built_in(nothing_downloaded: None, truth: None,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    settings = Settings(_env_file=None, hf_token=None)  # the default: community-1, gated
    assert settings.diarizer == "auto" and settings.diarization_model
    auto = build_diarizer(settings)
    waveform = Waveform(samples=diarization_truth.sample_call().samples()[None, :])
    result = auto.diarize(waveform, DiarizeOptions(), null_hook)
    assert result.method == "builtin" and len({t.speaker for t in result.overlapping_turns}) == 2
    assert "built-in diarizer" in result.warnings[0] and "token" in result.warnings[0]
    forced = AutoDiarizer(model=settings.diarization_model, mode="voice")
    assert forced.diarize(waveform, DiarizeOptions(), null_hook).warnings == []  # asked for: nothing to explain
    assert forced.load_error is None  # and pyannote was never tried


def test_a_diarizer_mode_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="auto, builtin, voice, pyannote, off"):
        AutoDiarizer(model=None, mode="vocal")
