"""Where someone speaks: Silero VAD's speech probability (the model faster-whisper ships), on a fixed frame
grid, turned into speech regions with hysteresis so a short dip inside a sentence does not split it."""

from __future__ import annotations

import itertools

import numpy as np

SAMPLE_RATE = 16_000
SILERO_CHUNK = 512  # samples per Silero probability (32 ms)


def speech_probability(samples: np.ndarray, frame_seconds: float) -> np.ndarray:
    """Silero's speech probability per ``frame_seconds`` frame of ``samples`` (16 kHz mono float32)."""
    from faster_whisper.vad import get_vad_model

    samples = np.asarray(samples, dtype=np.float32)
    frames = int(np.ceil(samples.size / SAMPLE_RATE / frame_seconds))
    if samples.size == 0:
        return np.zeros(frames, np.float32)
    padded = np.pad(samples, (0, SILERO_CHUNK - samples.size % SILERO_CHUNK))
    chunk_probs = np.asarray(get_vad_model()(padded), np.float32).reshape(-1)
    # Resample onto our grid: each frame takes the probability of the chunk its centre falls in.
    centres = (np.arange(frames) + 0.5) * frame_seconds * SAMPLE_RATE / SILERO_CHUNK
    return chunk_probs[np.clip(centres.astype(int), 0, chunk_probs.size - 1)]


def speech_mask(probability: np.ndarray, frame_seconds: float, *, onset: float, offset: float,
                min_speech: float, min_silence: float) -> np.ndarray:
    """Frames that are speech: a region opens above ``onset`` and closes below ``offset``; pauses under
    ``min_silence`` seconds are bridged and regions under ``min_speech`` seconds dropped."""
    mask = np.zeros(probability.size, bool)
    speaking = False
    for index, value in enumerate(probability):
        if speaking and value < offset:
            speaking = False
        elif not speaking and value >= onset:
            speaking = True
        mask[index] = speaking
    regions = runs(mask)
    gap = round(min_silence / frame_seconds)
    for (_, end), (start, _) in itertools.pairwise(regions):
        if start - end < gap:
            mask[end:start] = True
    shortest = round(min_speech / frame_seconds)
    for start, end in runs(mask):
        if end - start < shortest:
            mask[start:end] = False
    return mask


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The ``[start, end)`` frame ranges where ``mask`` is true."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
