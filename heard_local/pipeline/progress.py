"""Progress reporting in pyannote's hook style: ``hook(step, artifact, completed=, total=)``.

Every stage calls the hook it is given; the engine records the latest call per job, and each front
door (API, UI, CLI, watcher) renders it. Steps are plain strings such as "decode", "transcribe",
"diarize", "align", "extract", "summarize".
"""

from __future__ import annotations

from typing import Any, Protocol


class ProgressHook(Protocol):
    def __call__(
        self, step: str, artifact: Any = None, *, completed: float | None = None, total: float | None = None
    ) -> None: ...


def null_hook(step: str, artifact: Any = None, *, completed: float | None = None,
              total: float | None = None) -> None:
    """A hook that ignores everything (for callers that do not render progress)."""


class StepHook:
    """Prefixes a sub-stage's steps, e.g. a diarizer's "embeddings" becomes "diarize/embeddings"."""

    def __init__(self, hook: ProgressHook, prefix: str):
        self._hook = hook
        self._prefix = prefix

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        self._hook(f"{self._prefix}/{step}" if step else self._prefix, artifact,
                   completed=completed, total=total)
