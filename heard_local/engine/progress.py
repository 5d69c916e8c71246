"""Recording a job's progress in the database so every front door can read it."""

from __future__ import annotations

import time
from typing import Any

from heard_local.domain import Progress
from heard_local.store.jobs import JobRepo

_MIN_INTERVAL_SECONDS = 0.5


class JobProgressRecorder:
    """A progress hook (``hook(step, artifact, completed=, total=)``) writing to the job row.

    A new step is written at once; updates within a step at most every half second, so a stage that
    reports every frame does not flood the single database writer.
    """

    def __init__(self, jobs: JobRepo, job_id: str):
        self._jobs = jobs
        self._job_id = job_id
        self._last_step: str | None = None
        self._last_write = 0.0
        self.latest = Progress()

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        self.latest = Progress(step=step, completed=completed, total=total)
        now = time.monotonic()
        finished_step = completed is not None and total is not None and completed >= total
        if step != self._last_step or finished_step or now - self._last_write >= _MIN_INTERVAL_SECONDS:
            self._jobs.set_progress(self._job_id, self.latest)
            self._last_step = step
            self._last_write = now
