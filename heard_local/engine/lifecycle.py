"""What an engine owns while it runs: the data directory's lock, the database, the models, the media
helpers, the workers and the model sweeper, and the background services (webhooks, watcher, exports).

Opening takes the lock, migrates the database and resumes interrupted jobs; closing stops everything
in the reverse order. The services of the engine (engine/*.py) read what they need from here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import duckdb

from heard_local.adapters.media_sandbox import MediaSandbox, memory_limit_for
from heard_local.config import Settings
from heard_local.data_dir_lock import DataDirLock, holder_pid
from heard_local.domain import Job, JobKind
from heard_local.domain.clock import utcnow
from heard_local.engine.models import ModelManager
from heard_local.engine.retry import RetryStrategy
from heard_local.engine.runner import JobRunner
from heard_local.engine.workers import WorkerPool
from heard_local.errors import DataDirLockedError
from heard_local.store import Store

log = logging.getLogger(__name__)

# Seconds between two looks for models idle long enough to unload.
_SWEEP_INTERVAL = 30.0


class Service(Protocol):
    """A background companion of the engine (webhook deliverer, watcher, exporter)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def media_memory_limit(settings: Settings) -> int:
    """Bytes of address space a media helper may use (``media_memory_limit_mb``, or sized from the limits)."""
    if settings.media_memory_limit_mb > 0:
        return settings.media_memory_limit_mb << 20
    return memory_limit_for(settings.max_audio_seconds, settings.max_channels)


def open_data_dir(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> tuple[Store, DataDirLock]:
    """Take the data directory's lock and open (and migrate) its database."""
    settings.ensure_dirs()
    lock = DataDirLock(settings.lock_path)
    lock.acquire()
    try:
        store = Store(settings.db_path, clock=clock)
    except duckdb.IOException as exc:
        lock.release()
        if "lock" in str(exc).lower():
            raise DataDirLockedError(str(settings.data_dir), holder_pid(settings.lock_path)) from None
        raise
    except BaseException:
        lock.release()
        raise
    return store, lock


class Lifecycle:
    def __init__(self, settings: Settings, store: Store, lock: DataDirLock):
        self.settings = settings
        self.store = store
        self._lock = lock
        self.models = ModelManager(settings)
        retry = RetryStrategy(max_attempts=settings.job_max_attempts, base_seconds=settings.retry_base_seconds,
                              max_seconds=settings.retry_max_seconds)
        # Untrusted media is probed and decoded in helper processes (a decoder crash fails one file).
        self.media = MediaSandbox(settings.data_dir / "scratch", max_seconds=settings.max_audio_seconds,
                                  max_channels=settings.max_channels, memory_limit=media_memory_limit(settings),
                                  helpers=settings.heavy_workers + 1)
        self.runner = JobRunner(store, settings, self.models, retry, decoder=self.media)
        self.workers: WorkerPool | None = None
        self.services: list[Service] = []
        self._job_done = threading.Condition()
        self._closed = False
        self._sweeper_stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def resume_interrupted(self) -> None:
        """Jobs a previous run left IN_PROGRESS: failed when out of attempts, else queued again."""
        for job in self.store.jobs.interrupted_without_attempts_left():
            log.error("job %s was interrupted on each of its %d attempts; marking it FAILED", job.job_id, job.attempts)
            self.runner.fail_interrupted(job)
        resumed = self.store.jobs.requeue_interrupted()
        if resumed:
            log.warning("resuming %d job(s) interrupted by a previous shutdown: %s", len(resumed), resumed)

    def start_workers(self) -> None:
        if self.workers is not None:
            return
        self.workers = WorkerPool(self.store.jobs, self.runner.run, heavy=self.settings.heavy_workers,
                                  light=self.settings.light_workers, on_job_done=self._notify_job_done)
        self.workers.start()
        self._sweeper = threading.Thread(target=self._sweep_idle_models, name="heard-model-sweeper", daemon=True)
        self._sweeper.start()

    def job_queued(self, kind: JobKind) -> None:
        """Wake the workers that run ``kind`` (nothing when this engine runs none)."""
        if self.workers is not None:
            self.workers.notify(kind)

    def busy_jobs(self) -> list[str]:
        return self.workers.busy_jobs() if self.workers is not None else []

    def wait_for_any_job(self, seconds: float) -> None:
        """Sleep until some job finishes or ``seconds`` pass."""
        with self._job_done:
            self._job_done.wait(seconds)

    def add_service(self, service: Service, *, start: bool = True) -> None:
        self.services.append(service)
        if start:
            service.start()

    def services_status(self) -> dict[str, Any]:
        return {type(service).__name__: service.status() for service in self.services  # type: ignore[attr-defined]
                if callable(getattr(service, "status", None))}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %s failed", service)
        if self.workers is not None:
            self.workers.stop()
        self.store.ingests.close()  # after the services: the watcher ingests until it stops
        self._sweeper_stop.set()
        self.models.close()
        self.media.close()
        self.store.close()
        self._lock.release()

    def _sweep_idle_models(self) -> None:
        while not self._sweeper_stop.wait(_SWEEP_INTERVAL):
            self.models.unload_idle()

    def _notify_job_done(self, job: Job) -> None:
        with self._job_done:
            self._job_done.notify_all()
