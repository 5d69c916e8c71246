"""The speaker encoder as voice profiles use it: speech prepared the way the encoder was trained on it.

``resemblyzer.preprocess_wav`` raises quiet speech to -30 dBFS and shortens long silences. Without it the
level and the room dominate the vector: two people recorded in one quiet meeting room scored a median 0.78
against each other, 0.66 with it (``python -m benchmarks.voice_threshold``). Same weights as the diarizer's
(:func:`heard_local.adapters.voice_encoder.shared_encoder`), so there is one embedding space.
"""

from __future__ import annotations

import numpy as np

from heard_local.adapters.voice_encoder import shared_encoder


class VoiceprintEncoder:
    """:class:`heard_local.pipeline.voiceprints.SpeechEmbedder` for voiceprints (16 kHz mono float32 in)."""

    def embed_speech(self, samples: np.ndarray) -> np.ndarray | None:
        from resemblyzer import preprocess_wav

        prepared = preprocess_wav(np.asarray(samples, dtype=np.float32))
        return shared_encoder().embed_speech(prepared)
