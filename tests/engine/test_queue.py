"""The job queue: atomic claims, retries with backoff for transient errors only, resumption."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter

import pytest

from heard_local.config import Settings
from heard_local.domain import JobKind, JobStatus
from heard_local.domain.job import TranscriptPayload
from heard_local.engine import Engine
from heard_local.engine.retry import RetryStrategy
from heard_local.errors import (
    LlmUnavailableError,
    TransientError,
    UnsupportedFormatError,
    ValidationError,
)
from heard_local.store import NewJob, NewTranscription, Store
from tests.support.engine_internals import die_without_closing, lifecycle_of, store_of


def test_backoff_grows_exponentially_within_jitter_and_stops_at_max_attempts() -> None:
    strategy = RetryStrategy(max_attempts=5, base_seconds=2.0, max_seconds=10.0, jitter=0.25)
    rng = random.Random(7)
    delays = [strategy.delay(attempt, rng) for attempt in range(1, 6)]
    assert delays[-1] is None
    for attempt, delay in enumerate(delays[:-1], start=1):
        nominal = min(10.0, 2.0 * 2 ** (attempt - 1))
        assert nominal * 0.75 <= delay <= nominal * 1.25
    # Jitter really varies (two queues retrying at once do not collide).
    assert len({round(strategy.delay(1, rng), 6) for _ in range(20)}) > 10


def test_permanent_errors_are_not_retried() -> None:
    strategy = RetryStrategy()
    assert not strategy.is_retryable(UnsupportedFormatError("bad"))
    assert not strategy.is_retryable(ValidationError("bad"))
    assert strategy.is_retryable(TransientError("later"))
    assert strategy.is_retryable(LlmUnavailableError("ollama down"))
    assert strategy.is_retryable(ConnectionRefusedError())
    assert not strategy.is_retryable(KeyboardInterrupt())


def _queue_jobs(store: Store, configuration_id: str, n: int) -> list[str]:
    ids = []
    with store.db.write() as cur:
        for i in range(n):
            transcription_id = str(uuid.uuid4())
            store.transcriptions.insert_pending(cur, NewTranscription(
                transcription_id=transcription_id, configuration_id=configuration_id, kind="transcript",
                name=None, metadata={}, channel=None, source=None, customer_id=None, media_path=None,
                content_sha256=None, recorded_at=None))
            job_id = f"job_{i:04d}"
            store.jobs.insert(cur, NewJob(job_id=job_id, kind=JobKind.TRANSCRIPT, transcription_id=transcription_id,
                                          configuration_id=configuration_id,
                                          payload=TranscriptPayload(transcript_text=f"Agent: {i}"), max_attempts=3))
            ids.append(job_id)
    return ids


def test_concurrent_claims_never_hand_out_a_job_twice(settings: Settings) -> None:
    with Engine.open(settings, workers=False) as engine:
        ids = _queue_jobs(store_of(engine), engine.configurations.default_id, 150)
        claimed: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            while (job := store_of(engine).jobs.claim([JobKind.TRANSCRIPT])) is not None:
                with lock:
                    claimed.append(job.job_id)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Counter(claimed) == Counter(ids)
        assert store_of(engine).jobs.counts() == {"IN_PROGRESS": 150}


def test_claims_take_the_oldest_runnable_job_of_the_right_weight(settings: Settings) -> None:
    with Engine.open(settings, workers=False) as engine:
        ids = _queue_jobs(store_of(engine), engine.configurations.default_id, 3)
        assert store_of(engine).jobs.claim([JobKind.AUDIO]) is None
        store_of(engine).jobs.retry_later(ids[0], "try later", "INTERNAL_ERROR", delay_seconds=3600)
        first = store_of(engine).jobs.claim([JobKind.TRANSCRIPT])
        assert first is not None and first.job_id == ids[1] and first.attempts == 1
        assert first.status is JobStatus.IN_PROGRESS


def test_jobs_interrupted_by_a_dead_process_are_resumed_at_start(settings: Settings) -> None:
    engine = Engine.open(settings, workers=False)
    ids = _queue_jobs(store_of(engine), engine.configurations.default_id, 2)
    claimed = store_of(engine).jobs.claim([JobKind.TRANSCRIPT])
    assert claimed is not None
    # Simulate the process dying: the lock and database are released without finishing the job.
    die_without_closing(engine)

    with Engine.open(settings) as restarted:
        for job_id in ids:
            job = restarted.jobs.wait(job_id, timeout=30)
            assert job.status is JobStatus.COMPLETED
        assert restarted.jobs.get(claimed.job_id).attempts == 2
        transcription = restarted.transcriptions.get(claimed.transcription_id)
        assert transcription.details is not None
        assert transcription.details.conversation.segments[0].text == claimed.payload.transcript_text[7:]  # type: ignore[union-attr]


def test_a_transient_failure_is_retried_until_max_attempts_then_fails(settings: Settings, tmp_path) -> None:
    """The Whisper model cannot be loaded (a missing model directory): transient, since the user can fix it
    without resubmitting; retried with backoff, then FAILED with the reason, and nothing else disturbed."""
    import wave

    import numpy as np

    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.sin(np.arange(16000) / 5) * 8000).astype("<i2").tobytes())
    settings = settings.model_copy(update={"job_max_attempts": 3, "whisper_model": str(tmp_path / "no-model")})
    with Engine.open(settings) as engine:
        kept = engine.ingest.transcript({"transcript_text": "Agent: keep me"})
        submission = engine.ingest.audio_file(path)
        job = engine.jobs.wait(submission.job.job_id, timeout=60)
        assert job.status is JobStatus.FAILED
        assert job.attempts == 3
        assert "no-model" in (job.last_error or "")
        transcription = engine.transcriptions.get(submission.job.transcription_id)
        assert transcription.error is not None and "no-model" in transcription.error.message
        assert engine.jobs.wait(kept.job.job_id, timeout=30).status is JobStatus.COMPLETED


def test_a_permanent_failure_is_not_retried(engine: Engine, tmp_path) -> None:
    """A file that looks like WAV but holds garbage fails once, for good, with a clear message."""
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)
    submission = engine.ingest.audio_file(path)
    job = engine.jobs.wait(submission.job.job_id, timeout=60)
    assert job.status is JobStatus.FAILED
    assert job.attempts == 1
    assert job.error_code in ("UNSUPPORTED_FORMAT", "VALIDATION_ERROR")


@pytest.mark.parametrize("heavy, light", [(0, 1), (1, 2)])
def test_worker_pool_sizes_come_from_settings(settings: Settings, heavy: int, light: int) -> None:
    settings = settings.model_copy(update={"heavy_workers": heavy, "light_workers": light})
    with Engine.open(settings) as engine:
        assert lifecycle_of(engine).workers is not None
        names = [t.name for t in lifecycle_of(engine).workers._threads]
        assert sum(n.startswith("heard-heavy") for n in names) == heavy
        assert sum(n.startswith("heard-light") for n in names) == light


def test_a_batch_claim_takes_the_oldest_jobs_in_order_and_starts_their_transcriptions(settings: Settings) -> None:
    with Engine.open(settings, workers=False) as engine:
        ids = _queue_jobs(store_of(engine), engine.configurations.default_id, 5)
        store_of(engine).jobs.retry_later(ids[1], "try later", "INTERNAL_ERROR", delay_seconds=3600)
        claimed = store_of(engine).jobs.claim_many([JobKind.TRANSCRIPT], 3)
        assert [job.job_id for job in claimed] == [ids[0], ids[2], ids[3]]
        assert all(job.status is JobStatus.IN_PROGRESS and job.attempts == 1 for job in claimed)
        for job in claimed:
            assert engine.transcriptions.get(job.transcription_id).status.value == "IN_PROGRESS"
        assert [job.job_id for job in store_of(engine).jobs.claim_many([JobKind.TRANSCRIPT], 3)] == [ids[4]]


def test_the_light_pool_shares_one_claimed_batch_and_releases_what_it_did_not_start(settings: Settings) -> None:
    from heard_local.engine.workers import WorkerPool

    with Engine.open(settings, workers=False) as engine:
        ids = _queue_jobs(store_of(engine), engine.configurations.default_id, 6)
        started: list[str] = []
        both_busy = threading.Barrier(2, timeout=30)
        finish = threading.Event()

        def run_job(job) -> None:  # type: ignore[no-untyped-def]
            started.append(job.job_id)
            both_busy.wait()  # breaks (and fails the test) unless the second worker runs a job of the same batch
            finish.wait(30)

        pool = WorkerPool(store_of(engine).jobs, run_job, heavy=0, light=2)
        pool.start()
        both_busy_reached = False
        try:
            for _ in range(300):
                if len(started) == 2:
                    both_busy_reached = True
                    break
                threading.Event().wait(0.05)
            assert both_busy_reached, started
            # One claim took all six (batch of 8): two run, four wait in the pool.
            assert store_of(engine).jobs.counts() == {"IN_PROGRESS": 6}
        finally:
            threading.Timer(0.2, finish.set).start()
            pool.stop(timeout=30)
        assert sorted(started) == ids[:2]  # the oldest first; the rest were never started ...
        counts = store_of(engine).jobs.counts()
        assert counts == {"IN_PROGRESS": 2, "PENDING": 4}  # (run_job here records no outcome)
        for job_id in ids[2:]:  # ... and are back in the queue as if never claimed
            job = engine.jobs.get(job_id)
            assert job.status is JobStatus.PENDING and job.attempts == 0
            assert engine.transcriptions.get(job.transcription_id).status.value == "PENDING"
