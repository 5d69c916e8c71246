"""A running job's progress: visible at once through the engine, written to its row sparingly."""

from __future__ import annotations

from heard_local.config import Settings
from heard_local.domain import JobKind, JobStatus, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.engine.progress import JobProgressRecorder
from tests.support.clock import ManualClock
from tests.support.engine_internals import lifecycle_of, store_of


def test_progress_is_live_at_once_and_reaches_the_row_after_the_first_half_second(settings: Settings) -> None:
    engine = Engine.open(settings.model_copy(update={"light_workers": 0, "heavy_workers": 0}))
    try:
        submitted = engine.ingest.transcript({"transcript_text": "Agent: Hello\nCustomer: Hi, my order is late."})
        job = store_of(engine).jobs.claim([JobKind.TRANSCRIPT])
        assert job is not None and job.job_id == submitted.job.job_id and job.status is JobStatus.IN_PROGRESS
        # claiming marks the transcription IN_PROGRESS in the same transaction
        assert engine.transcriptions.get(job.transcription_id).status is TranscriptionStatus.IN_PROGRESS

        clock = ManualClock()
        recorder = JobProgressRecorder(store_of(engine).jobs, job.job_id, lifecycle_of(engine).runner.live_progress,
                                       clock=clock)
        recorder("summarize", completed=1, total=4)
        assert store_of(engine).jobs.get(job.job_id).progress.step == "starting"  # the row: not yet
        seen = engine.jobs.get(job.job_id).progress
        assert (seen.step, seen.completed, seen.total) == ("summarize", 1, 4)
        assert engine.jobs.view(job.job_id).progress.step == "summarize"
        assert engine.jobs.list()[0].progress.step == "summarize"

        clock.advance(0.55)
        recorder("summarize", completed=2, total=4)
        stored = store_of(engine).jobs.get(job.job_id).progress
        assert (stored.step, stored.completed) == ("summarize", 2)

        lifecycle_of(engine).runner.live_progress.pop(job.job_id)  # the job ended: the row is what readers get
        assert engine.jobs.get(job.job_id).progress.completed == 2
    finally:
        engine.close()
