"""Speaker diarization with a pyannote.audio ``SpeakerDiarization`` pipeline (with :mod:`.fast_diarization`,
:mod:`.builtin_diarization` and :mod:`.pyannote_import`, the only modules importing pyannote).

The pipeline is loaded by name (``pyannote/speaker-diarization-community-1``: needs a Hugging Face token
and internet once) or from a local directory holding a ``config.yaml`` that points at local checkpoints
(``Pipeline.from_pretrained(directory)``). Audio is handed over in memory: pyannote never decodes files
itself here (torchaudio/torchcodec decoding is not relied upon).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from heard_local.adapters.pyannote_import import import_pyannote
from heard_local.errors import ModelUnavailableError
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import DiarizationResult, DiarizeOptions, SpeakerTurn, Waveform

log = logging.getLogger(__name__)


class PyannoteDiarizer:
    """:class:`heard_local.pipeline.protocols.Diarizer` on a pyannote pipeline."""

    def __init__(self, model: str, token: str | None = None, *, device: str = "auto", backend: str = "auto"):
        self.model_name = model
        self.backend = backend
        self.pipeline = load_pipeline(model, token, device=device)

    def close(self) -> None:
        self.pipeline = None

    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        return _run_pipeline(self.pipeline, waveform, options, hook, backend=self.backend)


def load_pipeline(model: str, token: str | None = None, *, device: str = "auto") -> Any:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")  # no telemetry from a private, local app
    import torch

    Pipeline = import_pyannote().Pipeline  # works on a CPU torch beside a CUDA-linked torchaudio
    local = Path(model).expanduser()
    source: str | Path = local if local.is_dir() else model
    if isinstance(source, str) and model.startswith(("/", ".", "~")):
        raise ModelUnavailableError(f"Diarization model directory {local} does not exist. Set "
                                    "HEARD_DIARIZATION_MODEL to a pyannote pipeline directory or name, or to "
                                    "an empty value to turn diarization off.")
    try:
        pipeline = Pipeline.from_pretrained(source, token=token or None)
    except Exception as exc:  # hub, network, YAML and checkpoint errors all mean "cannot load"
        raise ModelUnavailableError(_load_failure(model, exc, token)) from None
    if pipeline is None:  # pyannote returns None (after printing) for gated models without access
        raise ModelUnavailableError(_load_failure(model, None, token))
    target = "cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device)
    pipeline.to(torch.device(target))
    return pipeline


def _load_failure(model: str, exc: BaseException | None, token: str | None) -> str:
    reason = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    if Path(model).expanduser().is_dir():
        return f"The diarization pipeline in {model} could not be loaded{reason}."
    need_token = "" if token else " Set HEARD_HF_TOKEN to a Hugging Face token that has accepted the model's terms."
    return (f"Diarization model {model!r} could not be loaded{reason}. It is downloaded once, with internet "
            f"access.{need_token} Or set HEARD_DIARIZATION_MODEL to a local pipeline directory.")


def _run_pipeline(pipeline: Any, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook, *,
                  backend: str = "auto") -> DiarizationResult:
    """Run ``pipeline`` on the in-memory mono mix. The one place that calls pyannote: through the fast
    path, which returns the stock call's result (same turns) several times faster on a CPU, and runs the
    stock call itself for pipelines it does not reproduce."""
    from heard_local.adapters.fast_diarization import diarize_fast, last_path

    output = diarize_fast(pipeline, waveform.mono, waveform.sample_rate, num_speakers=options.num_speakers,
                          min_speakers=options.min_speakers, max_speakers=options.max_speakers,
                          hook=PyannoteProgress(hook), uri="recording", backend=backend)
    log.info("diarization ran %s", last_path(pipeline))
    annotation = _exclusive(output)
    turns = [SpeakerTurn(start=float(segment.start), end=float(segment.end), speaker=str(label))
             for segment, _, label in annotation.itertracks(yield_label=True)]
    turns.sort(key=lambda t: (t.start, t.end))
    return DiarizationResult(turns=turns, method="pyannote")


def _exclusive(output: Any) -> Any:
    """pyannote 4 returns both a diarization with overlaps and an exclusive one (one speaker at a time);
    the exclusive one is made for aligning with a transcript. Legacy pipelines return an Annotation."""
    exclusive = getattr(output, "exclusive_speaker_diarization", None)
    if exclusive is not None:
        return exclusive
    return getattr(output, "speaker_diarization", output)


class PyannoteProgress:
    """pyannote's ``hook(step_name, step_artefact, file=, completed=, total=)`` mapped to ours."""

    def __init__(self, hook: ProgressHook):
        self._hook = hook
        self._counted: set[str] = set()

    def __call__(self, step_name: str, step_artifact: Any, file: Any = None, total: int | None = None,
                 completed: int | None = None) -> None:
        if completed is None or total is None:
            # "step finished, here is its artefact": worth showing only for steps without a count
            if step_name not in self._counted:
                self._hook(step_name, None)
            return
        self._counted.add(step_name)
        # pyannote counts batch ends, which can run past the total on the last batch
        self._hook(step_name, None, completed=float(min(completed, total)), total=float(total))
