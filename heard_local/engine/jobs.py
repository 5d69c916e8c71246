"""Jobs: reading the queue (with running jobs' live progress), waiting on a job, and queueing re-runs
of the LLM stages."""

from __future__ import annotations

import builtins
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from heard_local.domain import Job, JobKind, JobStatus, TranscriptionStatus
from heard_local.domain.job import ReprocessPayload
from heard_local.errors import ValidationError
from heard_local.store import NewJob, Store
from heard_local.views import JobView

if TYPE_CHECKING:
    from heard_local.engine.lifecycle import Lifecycle

# Seconds between two looks at a job being waited on when no job finishes meanwhile.
_WAIT_POLL = 0.2


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex


class JobService:
    def __init__(self, store: Store, lifecycle: Lifecycle):
        self._store = store
        self._lifecycle = lifecycle

    def get(self, job_id: str) -> Job:
        return self._with_live_progress(self._store.jobs.get(job_id))

    def view(self, job_id: str) -> JobView:
        """The job in the API's shape, with its place in the queue."""
        job = self.get(job_id)
        return JobView.of(job, queue_position=self._store.jobs.queue_position(job))

    def wait(self, job_id: str, timeout: float | None = None,
             on_progress: Callable[[Job], None] | None = None) -> Job:
        """Block until the job is COMPLETED or FAILED (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if on_progress is not None:
                on_progress(job)
            if job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
                return job
            if deadline is not None and time.monotonic() >= deadline:
                return job
            self._lifecycle.wait_for_any_job(_WAIT_POLL)

    def latest_for_transcription(self, transcription_id: str) -> Job | None:
        """The most recent job of a transcription (its processing, or a re-run of the LLM stage)."""
        job = self._store.jobs.latest_for_transcription(transcription_id)
        return None if job is None else self._with_live_progress(job)

    def list(self, limit: int = 50) -> builtins.list[Job]:
        return [self._with_live_progress(job) for job in self._store.jobs.list_recent(limit)]

    def reprocess(self, transcription_id: str) -> Job:
        """Re-run extraction and summary on a stored conversation (after Ollama was down, or after the
        configuration's fields changed) without transcribing again."""
        transcription = self._store.transcriptions.get(transcription_id)
        if transcription.status is not TranscriptionStatus.COMPLETED:
            raise ValidationError("Only completed transcriptions can be re-processed", field="transcription_id")
        job_id = new_job_id()
        with self._store.db.write() as cur:
            self._store.jobs.insert(cur, NewJob(
                job_id=job_id, kind=JobKind.REPROCESS, transcription_id=transcription_id,
                configuration_id=transcription.configuration_id, payload=ReprocessPayload(),
                max_attempts=self._lifecycle.settings.job_max_attempts,
            ))
        self._lifecycle.job_queued(JobKind.REPROCESS)
        return self._store.jobs.get(job_id)

    def reprocess_configuration(self, configuration_id: str) -> builtins.list[Job]:
        """``reprocess`` for every completed conversation of the configuration."""
        self._store.configurations.get(configuration_id)
        return [self.reprocess(tid) for tid in self._store.transcriptions.completed_ids(configuration_id)]

    def counts(self) -> dict[str, int]:
        """Jobs per status."""
        return self._store.jobs.counts()

    def _with_live_progress(self, job: Job) -> Job:
        """A running job's progress as its worker last reported it (the row is updated sparingly)."""
        live = self._lifecycle.runner.live_progress.get(job.job_id) if job.status is JobStatus.IN_PROGRESS else None
        return job if live is None else job.model_copy(update={"progress": live})
