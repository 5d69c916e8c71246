"""Recordings for comparing diarizers: espeak-ng conversations and real AMI meeting excerpts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support import speech

SAMPLE_RATE = speech.SAMPLE_RATE

SCRIPT_THREE_SPEAKERS: list[tuple[str, str]] = [
    ("A", "Good morning everyone, let us start with the quarterly numbers."),
    ("B", "Sales grew by four percent, mostly in the northern region."),
    ("C", "Support tickets went down, but response times are still too long."),
    ("A", "Thank you. What do we need to fix the response times?"),
    ("C", "Two more people on the evening shift would do it."),
    ("B", "I agree, and the budget allows it this quarter."),
]


def conversation(script: list[tuple[str, str]], *, gap: float = 0.4, silence_after: int | None = None,
                 silence_seconds: float = 0.0) -> np.ndarray:
    """Mono float32 speech: each line in its speaker's espeak-ng voice, ``gap`` seconds apart (negative:
    overlapping), with ``silence_seconds`` of silence after line ``silence_after``."""
    pieces: list[np.ndarray] = [np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32)]
    for index, (speaker, text) in enumerate(script):
        audio = speech.synthesize(text, speaker)
        if gap < 0 and len(pieces) > 1:  # start before the previous line ends
            overlap = min(int(-gap * SAMPLE_RATE), len(pieces[-1]), len(audio))
            pieces[-1] = pieces[-1].copy()
            pieces[-1][-overlap:] += audio[:overlap]
            audio = audio[overlap:]
        pieces.append(audio)
        pause = silence_seconds if index == silence_after else max(gap, 0.0)
        pieces.append(np.zeros(int(pause * SAMPLE_RATE), dtype=np.float32))
    mix = np.concatenate(pieces)
    return (mix * (0.9 / max(float(np.abs(mix).max()), 1e-6))).astype(np.float32)


def read_wav(path: Path) -> np.ndarray:
    """(channels, samples) float32 from a 16-bit PCM or 32-bit float WAV."""
    from scipy.io import wavfile

    _, data = wavfile.read(path)
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    data = data.astype(np.float32)
    return data[None] if data.ndim == 1 else np.ascontiguousarray(data.T)

