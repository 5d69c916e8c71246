"""Recording a job's progress in the database so every front door can read it."""

from __future__ import annotations

import time
from typing import Any

from heard_local.domain import Progress
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

    def __init__(self, jobs: JobRepo, job_id: str, live: dict[str, Progress] | None = None):
        self._jobs = jobs
        self._job_id = job_id
        self._live = live
        self._last_step: str | None = None
        self._last_write = 0.0
        self._quiet_until = time.monotonic() + _MIN_INTERVAL_SECONDS
        self.latest = Progress()

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        self.latest = Progress(step=step, completed=completed, total=total)
        if self._live is not None:
            self._live[self._job_id] = self.latest  # one dict store: atomic under the GIL
        now = time.monotonic()
        if now < self._quiet_until:
            return
        finished_step = completed is not None and total is not None and completed >= total
        if step != self._last_step or finished_step or now - self._last_write >= _MIN_INTERVAL_SECONDS:
            self._jobs.set_progress(self._job_id, self.latest)
            self._last_step = step
            self._last_write = now
