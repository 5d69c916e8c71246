"""Progress reporting in pyannote's hook style: ``hook(step, artifact, completed=, total=)``.

Every stage calls the hook it is given; the engine records the latest call per job, and each front
door (API, UI, CLI, watcher) renders it. Steps are plain strings such as "decode", "transcribe",
"diarize", "align", "extract", "summarize".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class ProgressHook(Protocol):
    def __call__(
        self, step: str, artifact: Any = None, *, completed: float | None = None, total: float | None = None
    ) -> None: ...


def null_hook(step: str, artifact: Any = None, *, completed: float | None = None,
              total: float | None = None) -> None:
    """A hook that ignores everything (for callers that do not render progress)."""


class ProgressThrottle:
    """Which progress updates are worth passing on: a new step, a finished step, or one ``interval``
    seconds after the last one passed (none at all in the first ``quiet_for`` seconds). Thread-safe.
    The one throttle of heard-local: the pipeline's stages (``ThrottledHook``) and the job's progress
    row (:class:`heard_local.engine.progress.JobProgressRecorder`) both use it."""

    def __init__(self, interval: float, *, quiet_for: float = 0.0, clock: Callable[[], float] = time.monotonic):
        self._interval = interval
        self._clock = clock
        self._quiet_until = clock() + quiet_for if quiet_for > 0 else None
        self._lock = threading.Lock()
        self._last_step: str | None = None
        self._last_time: float | None = None

    def admit(self, step: str, completed: float | None = None, total: float | None = None) -> bool:
        now = self._clock()
        if self._quiet_until is not None and now < self._quiet_until:
            return False
        finished = completed is not None and total is not None and completed >= total
        with self._lock:
            if (step == self._last_step and not finished and self._last_time is not None
                    and now - self._last_time < self._interval):
                return False
            self._last_step, self._last_time = step, now
        return True


class ThrottledHook:
    """Forwards a stage's progress through a :class:`ProgressThrottle` (``interval`` seconds), so two
    stages reporting from two threads do not flood the job's progress row."""

    def __init__(self, hook: ProgressHook, interval: float = 1.0):
        self._hook = hook
        self._throttle = ProgressThrottle(interval)

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        if self._throttle.admit(step, completed, total):
            self._hook(step, artifact, completed=completed, total=total)


class StepHook:
    """Prefixes a sub-stage's steps, e.g. a diarizer's "embeddings" becomes "diarize/embeddings"."""

    def __init__(self, hook: ProgressHook, prefix: str):
        self._hook = hook
        self._prefix = prefix

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        self._hook(f"{self._prefix}/{step}" if step else self._prefix, artifact,
                   completed=completed, total=total)
