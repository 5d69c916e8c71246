"""Voice embeddings from the trained speaker encoder that the ``resemblyzer`` package ships (Apache-2.0,
``resemblyzer/pretrained.pt``, 256 dimensions, no download, no token).

One embedding space for the whole app: the built-in diarizer clusters these vectors, and voice profiles
compare them, whichever diarizer told the speakers apart. Vectors are L2-normalised, so the dot product of
two of them is their cosine similarity.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000  # what the encoder was trained on
EMBEDDING_SIZE = 256
# The encoder looks at 1.6 s at a time (160 mel frames of 10 ms).
WINDOW_SECONDS = 1.6


class VoiceEncoder:
    """Loads the encoder once (about 0.1 s, 17 MB); thread-safe (torch inference under one lock, because
    the model is small and the cores are better spent on Whisper)."""

    def __init__(self, device: str = "cpu"):
        from resemblyzer import VoiceEncoder as _Encoder

        self._encoder: Any = _Encoder(device=device, verbose=False)
        self._lock = threading.Lock()

    def embed_windows(self, samples: np.ndarray, rate: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of overlapping 1.6 s windows over ``samples`` (16 kHz mono float32), ``rate`` windows
        a second. Returns ``(embeddings [n, 256], centres [n] in seconds from the start of samples)``."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.size < int(0.2 * SAMPLE_RATE):
            return np.zeros((0, EMBEDDING_SIZE), np.float32), np.zeros(0, np.float64)
        with self._lock:
            _, partials, slices = self._encoder.embed_utterance(samples, return_partials=True, rate=rate,
                                                                min_coverage=0.5)
        centres = np.array([(s.start + min(s.stop, samples.size)) / 2 / SAMPLE_RATE for s in slices])
        return np.asarray(partials, np.float32), centres

    def embed_spans(self, samples: np.ndarray, starts: np.ndarray, durations: np.ndarray) -> np.ndarray:
        """Embeddings of the windows of ``samples`` (16 kHz mono float32) that start at ``starts`` and last
        ``durations`` (seconds), from one mel spectrogram of the whole signal (windows overlap, so this is
        far cheaper than embedding each alone). Returns [len(starts), 256], L2-normalised."""
        import torch
        from resemblyzer.audio import wav_to_mel_spectrogram

        samples = np.asarray(samples, dtype=np.float32)
        result = np.zeros((len(starts), EMBEDDING_SIZE), np.float32)
        if len(starts) == 0 or samples.size == 0:
            return result
        mel = wav_to_mel_spectrogram(samples)  # 10 ms frames
        first = np.clip(np.round(np.asarray(starts) * 100).astype(int), 0, mel.shape[0] - 1)
        lengths = np.maximum(1, np.round(np.asarray(durations) * 100).astype(int))
        mel = np.pad(mel, ((0, max(0, int((first + lengths).max()) - mel.shape[0])), (0, 0)))
        with self._lock, torch.no_grad():
            for length in np.unique(lengths):  # the LSTM takes one length per batch
                chosen = np.flatnonzero(lengths == length)
                for chunk in range(0, chosen.size, 256):
                    rows = chosen[chunk:chunk + 256]
                    batch = np.stack([mel[f:f + length] for f in first[rows]])
                    tensor = torch.from_numpy(batch).to(self._encoder.device)
                    result[rows] = self._encoder(tensor).cpu().numpy()
        return result

    def embed_speech(self, samples: np.ndarray) -> np.ndarray | None:
        """One voice vector for a stretch of one person's speech (16 kHz mono float32); ``None`` when there
        is too little of it (under 0.5 s) to say anything about the voice."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.size < SAMPLE_RATE // 2:
            return None
        with self._lock:
            vector = self._encoder.embed_utterance(samples)
        return normalise(np.asarray(vector, np.float32))


def normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


_shared: VoiceEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> VoiceEncoder:
    """The process's one encoder (the diarizer and the voice profiles use the same weights)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = VoiceEncoder()
        return _shared
