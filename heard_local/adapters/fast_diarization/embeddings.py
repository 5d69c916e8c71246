"""Speaker embeddings for every (chunk, local speaker) pair, as pyannote computes them, faster.

Stock pyannote (``SpeakerDiarization.get_embeddings``) runs the whole embedding network once per
(chunk, speaker) pair: 3 local speakers, so 3 passes over the same 10 s of audio, which differ only in the
mask applied by the final statistics pooling. Here:

1. The network's trunk (everything before pooling) runs ONCE per chunk; the masks of the chunk's speakers
   are applied by the model's own pooling and head (``forward_embedding`` / ``stats_pool``). Same maths.
2. Chunks where no speaker is active are not run at all: pooling with an all-zero mask yields zero
   statistics whatever the trunk output, so their embeddings are the head applied to zeros, computed once.
3. WeSpeaker fbanks are per 25 ms frame, so the fbanks of a batch of overlapping chunks are computed once
   over the span they cover and sliced (chunk starts fall on the 10 ms frame grid), then centred per
   chunk as the model does.
4. The trunk runs on the fastest backend that reproduces it (see ``backends``).

Masks are chosen exactly as pyannote does (overlap-free frames when there are enough of them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from heard_local.adapters.fast_diarization.backends import CompiledModule, compile_module

# Largest difference allowed between compiled and eager trunk outputs on the probe, relative to the
# largest eager output (float32 re-association in folded batch norms and other kernels stays ~1e-6).
TRUNK_RELATIVE_TOLERANCE = 1e-3
CHUNKS_PER_BATCH = 4  # the trunk's CPU cost per chunk is flat from 1 to 16; 4 keeps activations small

Hook = Callable[..., Any]


def unsupported_reason(model: Any) -> str | None:
    """Why this embedding model cannot take the fast path (None: it can)."""
    from pyannote.audio.models.embedding import XVectorMFCC
    from pyannote.audio.models.embedding.wespeaker import BaseWeSpeakerResNet

    if isinstance(model, BaseWeSpeakerResNet):
        if type(model).forward is not BaseWeSpeakerResNet.forward or getattr(model, "fbank_only", False):
            return f"embedding model {type(model).__name__} changes WeSpeaker's forward pass"
        return None
    if type(model) is XVectorMFCC:
        return None
    return f"embedding model {type(model).__name__} is not WeSpeaker ResNet or XVectorMFCC"


def _relative_difference(reference: torch.Tensor, candidate: torch.Tensor) -> float:
    scale = max(float(reference.abs().max()), 1e-12)
    return float((reference - candidate).abs().max()) / scale


class _WeSpeakerTrunk(torch.nn.Module):
    def __init__(self, model: Any):
        super().__init__()
        self.resnet = model.resnet

    def forward(self, fbank: torch.Tensor) -> torch.Tensor:
        return self.resnet.forward_frames(fbank)


class _XVectorTrunk(torch.nn.Module):
    def __init__(self, model: Any):
        super().__init__()
        self.mfcc = model.mfcc
        self.tdnns = model.tdnns

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        outputs = self.mfcc(waveforms).squeeze(dim=1)
        for block in self.tdnns:
            outputs = block(outputs)
        return outputs


class FastEmbeddings:
    def __init__(self, pipeline: Any, backends: Sequence[str]):
        from pyannote.audio.models.embedding.wespeaker import BaseWeSpeakerResNet

        self.speaker_embedding = pipeline._embedding
        self.model = self.speaker_embedding.model_
        self.sample_rate = int(self.model.hparams.sample_rate)
        window = self.model.audio.get_num_samples(pipeline._segmentation.duration)
        self.is_wespeaker = isinstance(self.model, BaseWeSpeakerResNet)
        generator = torch.Generator().manual_seed(4321)
        probe_audio = 0.1 * torch.randn(1, 1, window, generator=generator)
        if self.is_wespeaker:
            trunk: torch.nn.Module = _WeSpeakerTrunk(self.model)
            with torch.inference_mode():
                probe = self.model.compute_fbank(probe_audio)
            self.frame_shift = round(self.sample_rate * self.model.hparams.frame_shift / 1000)
            self.fbank_frames_per_chunk = probe.shape[1]
        else:
            trunk, probe = _XVectorTrunk(self.model), probe_audio
        self.trunk: CompiledModule = compile_module(trunk, probe, tolerance=TRUNK_RELATIVE_TOLERANCE,
                                                    backends=backends, compare=_relative_difference,
                                                    name="embedding")

    @property
    def backend(self) -> str:
        return self.trunk.backend

    def __call__(self, waveform: torch.Tensor, binary_segmentations: Any, exclude_overlap: bool,
                 hook: Hook | None = None) -> np.ndarray:
        """``waveform``: (1, samples) mono at the embedding model's rate. Returns the (chunks, speakers,
        dimension) float32 array ``SpeakerDiarization.get_embeddings`` returns."""
        masks = self._masks(binary_segmentations, exclude_overlap)  # (chunks, speakers, frames)
        num_chunks, num_speakers, _ = masks.shape
        window = binary_segmentations.sliding_window
        window_size = self.model.audio.get_num_samples(window.duration)
        starts = [self.model.audio.get_num_samples(window[c].start) for c in range(num_chunks)]
        active = np.flatnonzero(masks.reshape(num_chunks, -1).any(axis=1))
        if active.size == 0:  # cannot happen after pyannote's early exit on silence; keeps shapes known
            active = np.arange(min(1, num_chunks))

        embeddings: np.ndarray | None = None
        batches = [active[i:i + CHUNKS_PER_BATCH] for i in range(0, len(active), CHUNKS_PER_BATCH)]
        if hook is not None:
            hook("embeddings", None, total=len(batches), completed=0)
        for done, batch in enumerate(batches, 1):
            frames = self._trunk(waveform, [starts[c] for c in batch], window_size)
            with torch.inference_mode():
                batch_embeddings = self._pool(frames, torch.from_numpy(masks[batch])).numpy()
            if embeddings is None:
                embeddings = np.empty((num_chunks, num_speakers, batch_embeddings.shape[-1]), dtype=np.float32)
                embeddings[:] = self._silent_embedding(frames, masks.shape[-1])
            embeddings[batch] = batch_embeddings
            if hook is not None:
                hook("embeddings", batch_embeddings, total=len(batches), completed=done)
        if embeddings is None:
            raise ValueError("no chunk to embed")
        return embeddings

    def _masks(self, binary_segmentations: Any, exclude_overlap: bool) -> np.ndarray:
        """Per (chunk, speaker) pooling weights, chosen as ``SpeakerDiarization.get_embeddings`` does."""
        data = binary_segmentations.data  # (chunks, frames, speakers)
        num_frames = data.shape[1]
        masks = np.nan_to_num(data, nan=0.0).astype(np.float32)
        if not exclude_overlap:
            return np.ascontiguousarray(masks.transpose(0, 2, 1))
        min_num_samples = self.speaker_embedding.min_num_samples
        duration = binary_segmentations.sliding_window.duration
        min_num_frames = math.ceil(num_frames * min_num_samples / (duration * self.speaker_embedding.sample_rate))
        clean_frames = 1.0 * (np.sum(data, axis=2, keepdims=True) < 2)
        clean = np.nan_to_num(data * clean_frames, nan=0.0).astype(np.float32)
        use_clean = np.sum(clean, axis=1) > min_num_frames  # (chunks, speakers)
        chosen = np.where(use_clean[:, None, :], clean, masks)
        return np.ascontiguousarray(chosen.transpose(0, 2, 1))

    def _trunk(self, waveform: torch.Tensor, starts: list[int], window_size: int) -> torch.Tensor:
        if not self.is_wespeaker:
            return self.trunk(torch.stack([_crop(waveform, s, window_size) for s in starts]))
        return self.trunk(self._fbanks(waveform, starts, window_size))

    def _fbanks(self, waveform: torch.Tensor, starts: list[int], window_size: int) -> torch.Tensor:
        """Centred fbanks of each chunk, (chunks, frames, mel bins), as ``compute_fbank`` returns them."""
        model = self.model
        first = starts[0]
        on_grid = all((s - first) % self.frame_shift == 0 for s in starts)
        if not on_grid or model.hparams.fbank_centering_span is not None:
            with torch.inference_mode():
                return model.compute_fbank(torch.stack([_crop(waveform, s, window_size) for s in starts]))
        span = _crop(waveform, first, starts[-1] - first + window_size)
        with torch.inference_mode():
            span_fbank = model._fbank(span * (1 << 15))  # (frames, mel bins)
            count = self.fbank_frames_per_chunk
            chunks = torch.stack([span_fbank[(s - first) // self.frame_shift:][:count] for s in starts])
            return chunks - torch.mean(chunks, dim=1, keepdim=True)

    def _pool(self, frames: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The model's own pooling and head: (chunks, speakers, frames) weights -> (chunks, speakers, dim)."""
        if self.is_wespeaker:
            return self.model.forward_embedding(frames, weights=weights)
        return self.model.embedding(self.model.stats_pool(frames, weights=weights))

    def _silent_embedding(self, frames: torch.Tensor, num_mask_frames: int) -> np.ndarray:
        with torch.inference_mode():
            silent = self._pool(torch.zeros_like(frames[:1]), torch.zeros(1, 1, num_mask_frames))
        return silent.numpy()[0, 0]


def _crop(waveform: torch.Tensor, start: int, length: int) -> torch.Tensor:
    """``waveform[:, start:start + length]``, zero-padded past the end (as pyannote's ``Audio.crop``)."""
    piece = waveform[:, start:start + length]
    return F.pad(piece, (0, length - piece.shape[1])) if piece.shape[1] < length else piece
