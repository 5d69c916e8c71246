"""The fast diarizer reproduces stock pyannote: same segmentation, same embeddings (within float32
rounding), same turns (DER between the two outputs <= 0.5%), on random-weight pipelines of the real
architectures, with ``num_speakers`` forced so the clustering has real work to do. Pipelines and inputs
it does not recognise go to stock pyannote.

Stated tolerances (what "the same" means here):
- segmentation: the binarised (chunk, frame, speaker) activations agree on >= 99.9% of entries (compiled
  backends may flip an argmax between two nearly tied powerset classes; eager agrees exactly);
- embeddings: NaN in the same places, max |difference| <= 1e-4 x the largest |embedding|;
- turns: DER(stock, fast) <= 0.5% for both the diarization and the exclusive diarization.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from heard_local.adapters.fast_diarization import diarize_fast, fast_path_unsupported_reason, last_path
from tests.diarization import recordings
from tests.support import speech
from tests.support.tiny_pyannote import build_tiny_pyannote_pipeline

pytestmark = pytest.mark.skipif(not speech.have_tools(), reason="espeak-ng and sox are needed to make speech")

SEGMENTATION_AGREEMENT = 0.999
EMBEDDING_RELATIVE_TOLERANCE = 1e-4
MAX_DER = 0.005


@pytest.fixture(scope="module")
def xvector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pyannote_pipeline(tmp_path_factory.mktemp("xvector"), embedding="xvector", seed=1)


@pytest.fixture(scope="module")
def wespeaker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_pyannote_pipeline(tmp_path_factory.mktemp("resnet"), embedding="wespeaker", seed=2)


def load(directory: Path) -> Any:
    from pyannote.audio import Pipeline

    return Pipeline.from_pretrained(directory)


@pytest.fixture(scope="module")
def xvector(xvector_dir: Path) -> Any:
    return load(xvector_dir)


@pytest.fixture(scope="module")
def three_speakers() -> np.ndarray:
    return recordings.conversation(recordings.SCRIPT_THREE_SPEAKERS)


class Run:
    """One diarization with the intermediate results pyannote's hook hands out."""

    def __init__(self, call: Callable[[Callable[..., None]], Any]):
        self.artefacts: dict[str, Any] = {}
        self.progress: list[tuple[str, float, float]] = []
        self.output = call(self._hook)

    def _hook(self, step: str, artefact: Any, file: Any = None, completed: float | None = None,
              total: float | None = None) -> None:
        if completed is None:
            self.artefacts[step] = artefact
        else:
            self.progress.append((step, completed, total))


def stock(pipeline: Any, audio: np.ndarray, sample_rate: int = recordings.SAMPLE_RATE, **speakers: Any) -> Run:
    waveform = torch.from_numpy(np.atleast_2d(audio))
    return Run(lambda hook: pipeline({"waveform": waveform, "sample_rate": sample_rate}, hook=hook, **speakers))


def fast(pipeline: Any, audio: np.ndarray, sample_rate: int = recordings.SAMPLE_RATE, backend: str = "auto",
         **speakers: Any) -> Run:
    return Run(lambda hook: diarize_fast(pipeline, audio, sample_rate, hook=hook, backend=backend, **speakers))


def der(reference: Any, hypothesis: Any) -> float:
    from pyannote.metrics.diarization import DiarizationErrorRate

    if len(reference) == 0:
        return 0.0 if len(hypothesis) == 0 else 1.0
    return float(DiarizationErrorRate()(reference, hypothesis))


def assert_same(reference: Run, candidate: Run, *, exact_segmentation: bool = False) -> None:
    expected, actual = reference.artefacts["segmentation"], candidate.artefacts["segmentation"]
    assert actual.data.shape == expected.data.shape
    assert actual.sliding_window.step == expected.sliding_window.step
    agreement = float(np.mean(actual.data == expected.data))
    assert agreement == 1.0 if exact_segmentation else agreement >= SEGMENTATION_AGREEMENT

    if "embeddings" in reference.artefacts:
        expected_embeddings, actual_embeddings = reference.artefacts["embeddings"], candidate.artefacts["embeddings"]
        assert actual_embeddings.shape == expected_embeddings.shape
        assert actual_embeddings.dtype == expected_embeddings.dtype
        np.testing.assert_array_equal(np.isnan(actual_embeddings), np.isnan(expected_embeddings))
        scale = np.nanmax(np.abs(expected_embeddings))
        np.testing.assert_allclose(actual_embeddings, expected_embeddings, rtol=0,
                                   atol=EMBEDDING_RELATIVE_TOLERANCE * scale, equal_nan=True)

    for attribute in ("speaker_diarization", "exclusive_speaker_diarization"):
        expected_turns, actual_turns = getattr(reference.output, attribute), getattr(candidate.output, attribute)
        assert der(expected_turns, actual_turns) <= MAX_DER, attribute
        assert actual_turns.labels() == expected_turns.labels()
    assert candidate.output.speaker_embeddings.shape == reference.output.speaker_embeddings.shape


def test_same_as_stock_on_a_three_speaker_conversation(xvector: Any, three_speakers: np.ndarray) -> None:
    reference = stock(xvector, three_speakers, num_speakers=3)
    candidate = fast(xvector, three_speakers, backend="eager", num_speakers=3)
    assert last_path(xvector) == "fast:segmentation=eager,embedding=eager"
    # random weights can collapse the turns onto one speaker: make sure this comparison is not vacuous
    assert len(reference.output.speaker_diarization.labels()) >= 2
    assert len(reference.output.speaker_diarization) > 10
    assert_same(reference, candidate, exact_segmentation=True)
    assert list(candidate.output.speaker_diarization.itertracks(yield_label=True)) == list(
        reference.output.speaker_diarization.itertracks(yield_label=True))


@pytest.mark.parametrize("speakers", [{}, {"min_speakers": 2, "max_speakers": 4}])
def test_same_as_stock_on_real_meeting_audio(xvector: Any, shared_data: Any, speakers: dict[str, int]) -> None:
    audio = recordings.read_wav(shared_data("pyannote-audio", "tests-data", "dev00.wav"))
    assert_same(stock(xvector, audio, **speakers), fast(xvector, audio, **speakers))
    assert last_path(xvector).startswith("fast:")


def test_silent_stretches_and_overlaps(xvector: Any) -> None:
    # 14 s of silence: whole 10 s chunks with nobody speaking (skipped by the fast path, embedded by stock);
    # negative gaps: overlapping speech, where embeddings use overlap-free frames
    audio = recordings.conversation(recordings.SCRIPT_THREE_SPEAKERS[:4], gap=-0.6, silence_after=1,
                                    silence_seconds=14.0)
    reference = stock(xvector, audio, num_speakers=3)
    silent_chunks = ~reference.artefacts["segmentation"].data.any(axis=(1, 2))
    assert silent_chunks.sum() >= 2
    assert_same(reference, fast(xvector, audio, num_speakers=3))


def test_stereo_is_mixed_down_as_pyannote_does(xvector: Any, three_speakers: np.ndarray) -> None:
    stereo = np.stack([three_speakers, np.roll(three_speakers, 4000) * 0.5])
    assert_same(stock(xvector, stereo, num_speakers=2), fast(xvector, stereo, num_speakers=2))


def test_shorter_than_one_chunk_and_exactly_one_chunk(xvector: Any, three_speakers: np.ndarray) -> None:
    for seconds in (4.0, 10.0):
        audio = three_speakers[: int(seconds * recordings.SAMPLE_RATE)]
        assert_same(stock(xvector, audio, num_speakers=2), fast(xvector, audio, num_speakers=2))


def test_silence_gives_no_turns(xvector: Any) -> None:
    result = fast(xvector, np.zeros(12 * recordings.SAMPLE_RATE, dtype=np.float32))
    assert len(result.output.speaker_diarization) == 0
    assert result.output.speaker_embeddings.shape == (0, 256)


def test_whole_overlap_embeddings_and_agglomerative_clustering(xvector_dir: Path, three_speakers: np.ndarray) -> None:
    from pyannote.audio.pipelines import SpeakerDiarization

    # other settings of the same pipeline class: stock pyannote's defaults
    pipeline = SpeakerDiarization(
        segmentation=str(xvector_dir / "segmentation" / "pytorch_model.bin"),
        embedding=str(xvector_dir / "embedding" / "pytorch_model.bin"), plda=str(xvector_dir / "plda"),
        clustering="AgglomerativeClustering", embedding_exclude_overlap=False)
    pipeline.instantiate({"segmentation": {"min_duration_off": 0.0},
                          "clustering": {"method": "centroid", "min_cluster_size": 2, "threshold": 0.7}})
    assert_same(stock(pipeline, three_speakers, num_speakers=3), fast(pipeline, three_speakers, num_speakers=3))
    assert last_path(pipeline).startswith("fast:")


def test_legacy_pipeline_returns_an_annotation(xvector_dir: Path, three_speakers: np.ndarray) -> None:
    from pyannote.core import Annotation

    pipeline = load(xvector_dir)
    pipeline.legacy = True
    audio = three_speakers[: 15 * recordings.SAMPLE_RATE]
    expected = stock(pipeline, audio, num_speakers=2).output
    actual = fast(pipeline, audio, num_speakers=2).output
    assert isinstance(actual, Annotation)
    assert der(expected, actual) <= MAX_DER


def test_progress_follows_pyannotes_hook_protocol(xvector: Any, three_speakers: np.ndarray) -> None:
    result = fast(xvector, three_speakers, num_speakers=3)
    assert list(result.artefacts) == ["segmentation", "speaker_counting", "embeddings", "discrete_diarization"]
    for step in ("segmentation", "embeddings"):
        counts = [(completed, total) for name, completed, total in result.progress if name == step]
        assert counts[0][0] == 0 and counts[-1][0] == counts[-1][1] > 0
        assert all(a[0] <= b[0] for a, b in itertools.pairwise(counts))


def test_community1_architecture(wespeaker_dir: Path) -> None:
    """WeSpeaker ResNet34 embeddings (community-1's) on its fastest backend here, then on TorchScript."""
    pipeline = load(wespeaker_dir)
    audio = recordings.conversation(recordings.SCRIPT_THREE_SPEAKERS[:3], gap=-0.3)[: 13 * recordings.SAMPLE_RATE]
    reference = stock(pipeline, audio, num_speakers=2)
    assert len(reference.output.speaker_diarization.labels()) == 2
    assert_same(reference, fast(pipeline, audio, num_speakers=2))
    assert last_path(pipeline).startswith("fast:")
    assert_same(reference, fast(pipeline, audio, num_speakers=2, backend="torchscript"))
    assert last_path(pipeline) == "fast:segmentation=torchscript,embedding=torchscript"


def test_chunk_step_off_the_fbank_frame_grid(wespeaker_dir: Path) -> None:
    """A 1.234 s step does not fall on WeSpeaker's 10 ms fbank grid: fbanks are then computed per chunk."""
    from pyannote.audio.pipelines import SpeakerDiarization

    pipeline = SpeakerDiarization(segmentation=str(wespeaker_dir / "segmentation" / "pytorch_model.bin"),
                                  segmentation_step=0.1234, embedding={"checkpoint": str(wespeaker_dir / "embedding")},
                                  plda=str(wespeaker_dir / "plda"))
    pipeline.instantiate(pipeline.default_parameters())
    audio = recordings.conversation(recordings.SCRIPT_THREE_SPEAKERS[3:])[: 13 * recordings.SAMPLE_RATE]
    assert_same(stock(pipeline, audio, num_speakers=2), fast(pipeline, audio, num_speakers=2))
    assert last_path(pipeline).startswith("fast:")


def test_other_sample_rates_go_to_stock_pyannote(xvector: Any, three_speakers: np.ndarray) -> None:
    audio = three_speakers[::2].copy()  # 8 kHz: pyannote resamples it itself
    expected = stock(xvector, audio, sample_rate=8000, num_speakers=2).output
    actual = fast(xvector, audio, sample_rate=8000, num_speakers=2).output
    assert last_path(xvector).startswith("stock (audio at 8000 Hz")
    assert list(actual.speaker_diarization.itertracks(yield_label=True)) == list(
        expected.speaker_diarization.itertracks(yield_label=True))


def test_unrecognised_pipelines_go_to_stock_pyannote(xvector_dir: Path, three_speakers: np.ndarray) -> None:
    from pyannote.audio.pipelines import SpeakerDiarization, VoiceActivityDetection
    from pyannote.core import Annotation

    class NamedSpeakers(SpeakerDiarization):
        """A user's variant: the fast path cannot know what it changes."""

        def apply(self, file: Any, **kwargs: Any) -> Any:
            output = super().apply(file, **kwargs)
            output.speaker_diarization = output.speaker_diarization.rename_labels(generator=iter("XYZ"))
            return output

    custom = NamedSpeakers(segmentation=str(xvector_dir / "segmentation" / "pytorch_model.bin"),
                           embedding=str(xvector_dir / "embedding" / "pytorch_model.bin"),
                           plda=str(xvector_dir / "plda"))
    custom.instantiate(custom.default_parameters())
    audio = three_speakers[: 12 * recordings.SAMPLE_RATE]
    assert fast_path_unsupported_reason(custom) == "NamedSpeakers is not pyannote's SpeakerDiarization"
    output = fast(custom, audio, num_speakers=2).output
    assert last_path(custom).startswith("stock (NamedSpeakers")
    assert set(output.speaker_diarization.labels()) <= {"X", "Y", "Z"}

    vad = VoiceActivityDetection(segmentation=str(xvector_dir / "segmentation" / "pytorch_model.bin"))
    vad.instantiate({"min_duration_on": 0.0, "min_duration_off": 0.0})
    speech_regions = fast(vad, audio).output
    assert isinstance(speech_regions, Annotation) and len(speech_regions) > 0
    assert last_path(vad).startswith("stock (VoiceActivityDetection")

    with pytest.raises(ValueError, match="backend must be one of"):
        diarize_fast(custom, audio, 16000, backend="gpu")


def test_stock_on_request(xvector: Any, three_speakers: np.ndarray) -> None:
    audio = three_speakers[: 12 * recordings.SAMPLE_RATE]
    fast(xvector, audio, backend="stock", num_speakers=2)
    assert last_path(xvector) == "stock (backend='stock' requested)"
