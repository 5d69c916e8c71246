"""The random-weight pyannote pipeline directory loads through ``Pipeline.from_pretrained`` and diarizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support import speech
from tests.support.tiny_pyannote import build_tiny_pyannote_pipeline

pytestmark = pytest.mark.skipif(not speech.have_tools(), reason="espeak-ng and sox are needed to make speech")


def _two_voices() -> np.ndarray:
    a = speech.synthesize("Good morning, how can I help you today?", "A")
    b = speech.synthesize("I would like to change my address please.", "B")
    pause = np.zeros(speech.SAMPLE_RATE // 2, dtype=np.float32)
    return np.concatenate([pause, a, pause, b, pause])


@pytest.mark.parametrize(("embedding", "model_class"), [("xvector", "XVectorMFCC"),
                                                          ("wespeaker", "WeSpeakerResNet34")])
def test_pipeline_directory_loads_and_diarizes(tmp_path: Path, embedding: str, model_class: str) -> None:
    from pyannote.audio import Pipeline
    from pyannote.audio.pipelines import SpeakerDiarization
    from pyannote.core import Annotation

    # a directory name with "wespeaker" in it: pyannote must still load the local checkpoint
    directory = build_tiny_pyannote_pipeline(tmp_path / f"tiny-{embedding}", embedding=embedding)
    pipeline = Pipeline.from_pretrained(directory)
    assert isinstance(pipeline, SpeakerDiarization)
    assert type(pipeline._embedding.model_).__name__ == model_class
    assert pipeline._segmentation.model.specifications.powerset
    assert pipeline.klustering == "VBxClustering"

    audio = _two_voices()
    output = pipeline({"waveform": torch.from_numpy(audio)[None], "sample_rate": speech.SAMPLE_RATE},
                      num_speakers=2)
    assert isinstance(output.speaker_diarization, Annotation)
    assert output.speaker_diarization.labels() == ["SPEAKER_00", "SPEAKER_01"]
    assert output.speaker_embeddings.shape == (2, 256)
    # stock pyannote pads a recording shorter than one 10 s chunk and may report turns in the padding
    speech_seconds = output.speaker_diarization.get_timeline().support().duration()
    assert 0.5 < speech_seconds <= 10.0

    silence = pipeline({"waveform": torch.zeros(1, 3 * speech.SAMPLE_RATE), "sample_rate": speech.SAMPLE_RATE})
    assert len(silence.speaker_diarization) == 0


def test_same_seed_same_weights_other_seed_other_weights(tmp_path: Path) -> None:
    first = build_tiny_pyannote_pipeline(tmp_path / "a", seed=3)
    again = build_tiny_pyannote_pipeline(tmp_path / "b", seed=3)
    other = build_tiny_pyannote_pipeline(tmp_path / "c", seed=4)
    for name in ("segmentation/pytorch_model.bin", "plda/plda.npz", "plda/xvec_transform.npz"):
        assert _weights(first / name) == _weights(again / name)
        assert _weights(first / name) != _weights(other / name)


def _weights(path: Path) -> list[bytes]:
    if path.suffix == ".npz":
        with np.load(path) as arrays:
            return [arrays[key].tobytes() for key in sorted(arrays.files)]
    state = torch.load(path, weights_only=False)["state_dict"]
    return [state[key].numpy().tobytes() for key in sorted(state)]
