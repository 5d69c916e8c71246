"""Worker threads that claim jobs from the queue and run them.

Two pools: heavy workers take audio jobs (transcription and diarization keep the CPU busy, so by
default one at a time on 2 cores), light workers take transcript and LLM jobs alongside.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime

from heard_local.domain import Job, JobKind
from heard_local.domain.clock import utcnow
from heard_local.store.jobs import JobRepo

log = logging.getLogger(__name__)

HEAVY_KINDS = (JobKind.AUDIO,)
LIGHT_KINDS = (JobKind.TRANSCRIPT, JobKind.REPROCESS)
_MAX_IDLE_WAIT = 5.0
# Transcript and LLM jobs the light pool claims at once: one claim transaction instead of eight (the
# database is written by one thread at a time, so per-job writes bound how fast transcripts complete).
_LIGHT_BATCH = 8


class WorkerPool:
    def __init__(self, jobs: JobRepo, run_job: Callable[[Job], None], *, heavy: int, light: int,
                 on_job_done: Callable[[Job], None] | None = None):
        self._jobs = jobs
        self._run_job = run_job
        self._on_job_done = on_job_done
        self._stop = threading.Event()
        self._wakeups = {HEAVY_KINDS: threading.Event(), LIGHT_KINDS: threading.Event()}
        self._threads: list[threading.Thread] = []
        self._sizes = {HEAVY_KINDS: heavy, LIGHT_KINDS: light}
        self._busy: dict[str, str] = {}  # thread name -> job id
        self._busy_lock = threading.Lock()
        # Jobs claimed in a batch and not yet started, per pool (see _next_job).
        self._claimed: dict[tuple[JobKind, ...], deque[Job]] = {HEAVY_KINDS: deque(), LIGHT_KINDS: deque()}
        self._claim_lock = threading.Lock()

    def start(self) -> None:
        for kinds, size in self._sizes.items():
            label = "heavy" if kinds is HEAVY_KINDS else "light"
            for index in range(size):
                thread = threading.Thread(target=self._loop, args=(kinds,), name=f"heard-{label}-{index}",
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def notify(self, kind: JobKind | None = None) -> None:
        """A job was queued: wake the pool that runs it (both when unknown)."""
        for kinds, event in self._wakeups.items():
            if kind is None or kind in kinds:
                event.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for event in self._wakeups.values():
            event.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        with self._claim_lock:  # claimed, never started: back to PENDING rather than "resumed" next start
            unstarted = [job for claimed in self._claimed.values() for job in claimed]
            for claimed in self._claimed.values():
                claimed.clear()
        if unstarted:
            try:
                self._jobs.release(unstarted)
            except Exception:  # still IN_PROGRESS: the next start requeues them
                log.exception("releasing %d claimed job(s) at shutdown failed", len(unstarted))
        still = [t.name for t in self._threads if t.is_alive()]
        if still:
            log.warning("workers still running at shutdown (their jobs resume at next start): %s", still)

    def busy_jobs(self) -> list[str]:
        with self._busy_lock:
            return list(self._busy.values())

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads) and not self._stop.is_set()

    def _loop(self, kinds: Sequence[JobKind]) -> None:
        wakeup = self._wakeups[tuple(kinds)]
        while not self._stop.is_set():
            try:
                job = self._next_job(kinds)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("claiming a job failed")
                self._stop.wait(1.0)
                continue
            if job is None:
                wakeup.clear()
                if self._stop.is_set():  # stop() may have set the event just before clear()
                    return
                wakeup.wait(self._idle_wait(kinds))
                continue
            self._run_one(job)

    def _next_job(self, kinds: Sequence[JobKind]) -> Job | None:
        """The pool's next claimed job, claiming a batch when none is left: every worker of the pool
        draws from the same batch, so batching never leaves a worker idle while jobs wait."""
        pool = tuple(kinds)
        claimed = self._claimed[pool]
        with self._claim_lock:
            if self._stop.is_set():
                return None
            if not claimed:
                claimed.extend(self._jobs.claim_many(kinds, _LIGHT_BATCH if pool == LIGHT_KINDS else 1))
                if len(claimed) > 1:
                    self._wakeups[pool].set()  # the pool's other workers: there is more
            return claimed.popleft() if claimed else None

    def _run_one(self, job: Job) -> None:
        name = threading.current_thread().name
        with self._busy_lock:
            self._busy[name] = job.job_id
        try:
            self._run_job(job)
        except Exception:
            log.exception("job %s crashed its worker loop", job.job_id)
        finally:
            with self._busy_lock:
                self._busy.pop(name, None)
        if self._on_job_done is not None:
            self._on_job_done(job)

    def _idle_wait(self, kinds: Sequence[JobKind]) -> float:
        try:
            next_at: datetime | None = self._jobs.next_run_after(kinds)
        except Exception:
            return 1.0
        if next_at is None:
            return _MAX_IDLE_WAIT
        return max(0.05, min(_MAX_IDLE_WAIT, (next_at - utcnow()).total_seconds()))
