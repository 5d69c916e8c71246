"""Local speaker segmentation (PyanNet on 10 s windows sliding by 1 s), as pyannote computes it, faster.

Equivalent to ``pipeline._segmentation(file)`` (``Inference.slide`` with ``skip_aggregation=True``): the
same chunks (complete windows from ``Tensor.unfold`` plus one zero-padded last window), the same
powerset-to-multilabel conversion (pyannote's own ``Powerset`` module), the same output sliding window.
Only the model's forward pass runs on a faster backend (TorchScript: traced, frozen, optimised; its
decisions match eager's exactly in every comparison so far), accepted only if its class probabilities stay
within ``PROBABILITY_TOLERANCE`` of eager's on a probe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from heard_local.adapters.fast_diarization.backends import CompiledModule, compile_module

# Largest difference in a class probability allowed between the compiled and eager forward pass on the
# probe. onnxruntime's LSTM differs by ~4e-4 in log-probability; a wiring mistake differs by ~1.
PROBABILITY_TOLERANCE = 2e-3

# onnxruntime's LSTM runs PyanNet ~1.5x faster than TorchScript but rounds differently, which flips the
# powerset decision of a few nearly tied frames (~4e-5 of them with random weights). Segmentation is ~10%
# of the fast path's time, so identical decisions win: TorchScript runs torch's own LSTM kernel.
BACKEND_FOR_SEGMENTATION = {"onnxruntime": "torchscript"}

Hook = Callable[..., Any]


def unsupported_reason(model: Any) -> str | None:
    """Why this segmentation model cannot take the fast path (None: it can)."""
    from pyannote.audio.models.segmentation import PyanNet

    if type(model) is not PyanNet:
        return f"segmentation model {type(model).__name__} is not PyanNet"
    if not model.hparams.lstm.get("monolithic", True):
        return "PyanNet with a non-monolithic LSTM"
    return None


class PyanNetForward(torch.nn.Module):
    """PyanNet's forward pass (monolithic LSTM) as a plain module that exporters and tracers accept
    (they trip over the LightningModule's ``trainer`` property)."""

    def __init__(self, model: Any):
        super().__init__()
        self.sincnet = model.sincnet
        self.lstm = model.lstm
        self.linear = model.linear if model.hparams.linear["num_layers"] > 0 else torch.nn.ModuleList()
        self.classifier = model.classifier
        self.activation = model.activation

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(self.sincnet(waveforms).permute(0, 2, 1))
        for linear in self.linear:
            outputs = F.leaky_relu(linear(outputs))
        return self.activation(self.classifier(outputs))


class FastSegmentation:
    def __init__(self, pipeline: Any, backends: Sequence[str]):
        self.inference = pipeline._segmentation
        model = self.inference.model
        self.powerset = bool(model.specifications.powerset)
        window = model.audio.get_num_samples(self.inference.duration)
        probe = _probe_chunks(window)
        order = tuple(dict.fromkeys(BACKEND_FOR_SEGMENTATION.get(b, b) for b in backends))
        self.forward: CompiledModule = compile_module(
            PyanNetForward(model), probe, tolerance=PROBABILITY_TOLERANCE, backends=order,
            compare=self._probability_difference, name="segmentation")

    @property
    def backend(self) -> str:
        return self.forward.backend

    def _probability_difference(self, reference: torch.Tensor, candidate: torch.Tensor) -> float:
        if self.powerset:  # log-softmax outputs
            reference, candidate = reference.exp(), candidate.exp()
        return float((reference - candidate).abs().max())

    def __call__(self, waveform: torch.Tensor, sample_rate: int, hook: Hook | None = None) -> Any:
        """``waveform``: (1, samples) at the model's sample rate. Returns the (chunks, frames, speakers)
        SlidingWindowFeature pyannote's segmentation inference returns."""
        from einops import rearrange
        from pyannote.core import SlidingWindow, SlidingWindowFeature

        inference = self.inference
        window_size = inference.model.audio.get_num_samples(inference.duration)
        step_size = round(inference.step * sample_rate)
        num_samples = waveform.shape[1]
        if num_samples >= window_size:
            chunks = rearrange(waveform.unfold(1, window_size, step_size), "channel chunk frame -> chunk channel frame")
            num_chunks = chunks.shape[0]
        else:
            chunks, num_chunks = waveform.new_zeros((0, 1, window_size)), 0
        has_last_chunk = num_samples < window_size or (num_samples - window_size) % step_size > 0
        total = num_chunks + int(has_last_chunk)
        if hook is not None:
            hook(completed=0, total=total)
        outputs: list[np.ndarray] = []
        for start in range(0, num_chunks, inference.batch_size):
            outputs.append(self._decide(chunks[start:start + inference.batch_size]))
            if hook is not None:
                hook(completed=min(start + inference.batch_size, total), total=total)
        if has_last_chunk:
            last = waveform[:, num_chunks * step_size:]
            outputs.append(self._decide(F.pad(last, (0, window_size - last.shape[1]))[None]))
            if hook is not None:
                hook(completed=total, total=total)
        frames = SlidingWindow(start=0.0, duration=inference.duration, step=inference.step)
        return SlidingWindowFeature(np.vstack(outputs), frames)

    def _decide(self, chunks: torch.Tensor) -> np.ndarray:
        scores = self.forward(chunks.contiguous())
        with torch.inference_mode():
            return self.inference.conversion(scores).cpu().numpy()


def _probe_chunks(window: int) -> torch.Tensor:
    """Two chunks of speech-like noise bursts, from a private generator (the global RNG is untouched)."""
    generator = torch.Generator().manual_seed(1234)
    noise = 0.1 * torch.randn(2, 1, window, generator=generator)
    envelope = (torch.sin(torch.linspace(0, 40.0, window)) > 0).float()
    return noise * envelope
