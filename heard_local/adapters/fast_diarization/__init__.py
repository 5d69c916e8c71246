"""Speaker diarization with a pyannote ``SpeakerDiarization`` pipeline, several times faster on a CPU,
with the same output.

Contract
--------
``diarize_fast(pipeline, waveform, sample_rate, *, num_speakers=None, min_speakers=None,
max_speakers=None, hook=None, uri="waveform", backend="auto")`` returns exactly what
``pipeline({"waveform": ..., "sample_rate": ..., "uri": uri}, num_speakers=..., min_speakers=...,
max_speakers=..., hook=hook)`` returns: pyannote 4's ``DiarizeOutput`` (``speaker_diarization``,
``exclusive_speaker_diarization``, ``speaker_embeddings``), or an ``Annotation`` for a ``legacy``
pipeline. It is a drop-in replacement for that call.

- ``waveform``: float32 numpy array or torch tensor, (channels, samples) or (samples,); channels are
  averaged as pyannote does. Not modified.
- ``hook``: pyannote's hook protocol, unchanged: ``hook(step_name, artefact, file=..., completed=...,
  total=...)`` with the step names "segmentation", "speaker_counting", "embeddings",
  "discrete_diarization". The "embeddings" step counts batches of chunks with speech, so its total is
  smaller than stock pyannote's.
- ``backend``: "auto" (fastest available: onnxruntime for the embedding network when the ``onnx``
  package is installed, else TorchScript; the segmentation network always uses TorchScript, whose
  decisions are identical to eager's), "onnxruntime", "torchscript", "eager" (the fast algorithm on
  plain torch), or "stock" (always the stock pipeline call).
- Thread use follows ``torch.get_num_threads()`` at call time; nothing global is changed. Safe to call
  from several threads (the per-pipeline compiled models are built once, under a lock).

The fast path is taken when the pipeline is one it reproduces: pyannote.audio 4.0's own
``SpeakerDiarization`` on CPU (not training, no preprocessors, not oracle clustering), PyanNet
segmentation, a WeSpeaker ResNet (community-1's) or XVectorMFCC embedding, audio at the models' sample
rate (16 kHz). Anything else, and any error inside the fast path, falls back to the stock call (logged;
``last_path(pipeline)`` says which ran), so the result is always pyannote's.

Same output: stock pyannote embeds every (10 s chunk, local speaker) pair with a full network pass, 3 per
chunk over the same audio. The fast path runs the network's trunk once per chunk with speech and pools
each speaker's mask with the model's own pooling; it runs models on a compiled backend checked against
eager at build time (segmentation class probabilities within 2e-3, embedding trunk within 1e-3 relative;
measured differences are ~1e-6 for embeddings). Clustering and everything after it is pyannote's own
code. Tests compare segmentations, embeddings and final turns with stock on generated recordings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from heard_local.adapters.fast_diarization.backends import BACKENDS, available_backends
from heard_local.adapters.fast_diarization.per_pipeline import PerPipeline

log = logging.getLogger(__name__)

BACKEND_CHOICES = ("auto", *BACKENDS, "stock")

_last_path: PerPipeline[str] = PerPipeline()


def diarize_fast(pipeline: Any, waveform: Any, sample_rate: int, *, num_speakers: int | None = None,
                 min_speakers: int | None = None, max_speakers: int | None = None,
                 hook: Callable[..., Any] | None = None, uri: str = "waveform", backend: str = "auto") -> Any:
    """Diarize ``waveform`` with ``pipeline``: the stock call's result, faster (see the module docstring)."""
    from heard_local.adapters.fast_diarization import runner

    if backend not in BACKEND_CHOICES:
        raise ValueError(f"backend must be one of {', '.join(BACKEND_CHOICES)}, not {backend!r}")
    speakers = {name: value for name, value in (("num_speakers", num_speakers), ("min_speakers", min_speakers),
                                                 ("max_speakers", max_speakers)) if value is not None}
    reason = "backend='stock' requested" if backend == "stock" else runner.unsupported_reason(pipeline, sample_rate)
    if reason is None:
        try:
            fast = runner.prepared(pipeline, _backend_order(backend))
            output = runner.apply(pipeline, fast, runner.as_file(waveform, sample_rate, uri), hook=hook, **speakers)
        except Exception:  # the user still gets pyannote's own result, just slower
            log.warning("fast diarization failed; running the stock pyannote pipeline instead", exc_info=True)
        else:
            _last_path.set(pipeline, "fast:" + ",".join(f"{k}={v}" for k, v in fast.backends.items()))
            return output
        reason = "fast path failed"
    else:
        log.info("stock pyannote diarization: %s", reason)
    _last_path.set(pipeline, f"stock ({reason})")
    return pipeline(runner.as_file(waveform, sample_rate, uri), hook=hook, **speakers)


def fast_path_unsupported_reason(pipeline: Any, sample_rate: int = 16_000) -> str | None:
    """Why ``diarize_fast`` would run ``pipeline`` stock (None: it takes the fast path)."""
    from heard_local.adapters.fast_diarization import runner

    return runner.unsupported_reason(pipeline, sample_rate)


def last_path(pipeline: Any) -> str | None:
    """How ``diarize_fast`` last ran ``pipeline``: "fast:segmentation=…,embedding=…" or "stock (why)"."""
    return _last_path.get(pipeline)


def _backend_order(backend: str) -> tuple[str, ...]:
    if backend == "auto":
        return available_backends()
    return (backend, "eager") if backend != "eager" else ("eager",)


__all__ = ["BACKEND_CHOICES", "diarize_fast", "fast_path_unsupported_reason", "last_path"]
