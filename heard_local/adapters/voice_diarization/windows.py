"""The stretches of speech that get a voice embedding: dense, overlapping windows inside each speech
region, never across a pause (a pause is where the speaker most often changes), and one window over the
whole of a region too short for a full one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from heard_local.adapters.voice_diarization.regions import runs


class SpanEncoder(Protocol):
    """What embeds windows: resemblyzer's encoder (:class:`heard_local.adapters.voice_encoder.VoiceEncoder`)
    or CAM++ (:class:`heard_local.adapters.builtin_diarization.embedding.CamPlusPlusEmbedding`)."""

    def embed_spans(self, samples: np.ndarray, starts: np.ndarray, durations: np.ndarray) -> np.ndarray:
        """[len(starts), dimension] L2-normalised embeddings of the given stretches of ``samples``."""
        ...


@dataclass
class Windows:
    starts: np.ndarray  # seconds
    ends: np.ndarray
    embeddings: np.ndarray  # [n, dimension], L2-normalised

    def __len__(self) -> int:
        return int(self.starts.size)

    @property
    def centres(self) -> np.ndarray:
        return (self.starts + self.ends) / 2


def window_spans(mask: np.ndarray, frame_seconds: float, *, length: float, step: float,
                 shortest: float) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) in seconds of the windows over the speech regions of ``mask``."""
    starts: list[float] = []
    ends: list[float] = []
    for first, last in runs(mask):
        begin, end = first * frame_seconds, last * frame_seconds
        span = end - begin
        if span < shortest:
            continue
        if span <= length:
            starts.append(begin)
            ends.append(end)
            continue
        count = int(np.ceil((span - length) / step)) + 1
        offsets = np.linspace(0.0, span - length, count)  # the last window ends at the region's end
        starts.extend(begin + offsets)
        ends.extend(begin + offsets + length)
    return np.asarray(starts, np.float64), np.asarray(ends, np.float64)


def embed_windows(encoder: SpanEncoder, samples: np.ndarray, mask: np.ndarray, frame_seconds: float, *,
                  length: float, step: float, shortest: float) -> Windows:
    starts, ends = window_spans(mask, frame_seconds, length=length, step=step, shortest=shortest)
    embeddings = encoder.embed_spans(samples, starts, ends - starts)
    return Windows(starts, ends, embeddings)
