"""Recording a job's progress in the database so every front door can read it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from heard_local.domain import Progress
from heard_local.pipeline.progress import ProgressThrottle
from heard_local.store.jobs import JobRepo

_MIN_INTERVAL_SECONDS = 0.5


class JobProgressRecorder:
    """A progress hook (``hook(step, artifact, completed=, total=)``) for one running job.

    Every update goes to ``live`` at once (this process's front doors read running jobs' progress
    from there: :meth:`heard_local.engine.jobs.JobService.get`). The job row gets it for readers elsewhere
    and after a crash, sparingly: nothing in the job's first half second (claiming it wrote
    "starting", and most transcript jobs are done by then), then a new step at once and updates
    within a step at most every half second, so a stage that reports every frame does not flood the
    single database writer.
    """

    def __init__(self, jobs: JobRepo, job_id: str, live: dict[str, Progress] | None = None, *,
                 clock: Callable[[], float] = time.monotonic):
        self._jobs = jobs
        self._job_id = job_id
        self._live = live
        self._throttle = ProgressThrottle(_MIN_INTERVAL_SECONDS, quiet_for=_MIN_INTERVAL_SECONDS, clock=clock)
        self.latest = Progress()

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        self.latest = Progress(step=step, completed=completed, total=total)
        if self._live is not None:
            self._live[self._job_id] = self.latest  # one dict store: atomic under the GIL
        if self._throttle.admit(step, completed, total):
            self._jobs.set_progress(self._job_id, self.latest)
