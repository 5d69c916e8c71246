"""The engine: the one object every front door (API, UI, watcher, CLI, notebooks) talks to.

It owns the data directory (lock, DuckDB, media), the job queue and its workers, and the models.
Front doors never reach into the store or the adapters: they call methods here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pydantic

from heard_local.adapters.audio_decode import check_limits
from heard_local.adapters.media_sandbox import MediaSandbox, memory_limit_for
from heard_local.config import Settings
from heard_local.domain import (
    ApiKey,
    AudioUrlIngest,
    Configuration,
    ConfigurationInput,
    ConfigurationUpdate,
    Customer,
    IngestMetadata,
    Job,
    JobKind,
    JobStatus,
    TranscriptIngest,
    Transcription,
    TranscriptionGroup,
    TranscriptionStatus,
    normalize_email,
    normalize_phone,
)
from heard_local.domain.validation import parse, validation_error_from_pydantic
from heard_local.engine.analytics import AnalyticsReporter
from heard_local.engine.corrections import TranscriptCorrections
from heard_local.engine.ingest import IngestOutcome, PreparedIngest, write_ingest_batch
from heard_local.engine.media import sha256_file, store_media
from heard_local.engine.models import ModelManager
from heard_local.engine.retry import RetryStrategy
from heard_local.engine.runner import JobRunner
from heard_local.engine.snapshots import write_snapshot
from heard_local.engine.workers import WorkerPool
from heard_local.errors import ConflictError, DataDirLockedError, NotFoundError, ValidationError
from heard_local.pipeline.audio_format import detect_audio_format
from heard_local.store import NewJob, Page, Store, TranscriptionFilter
from heard_local.store.customers import IdentityClaim
from heard_local.store.export import FieldExport, field_export
from heard_local.store.group_commit import GroupCommit
from heard_local.store.idempotency import StoredResponse
from heard_local.store.lock import DataDirLock, holder_pid

log = logging.getLogger(__name__)

# Seconds a transcript job takes at most, for estimated_duration_seconds before any measurement.
_TRANSCRIPT_ESTIMATE = 1.0
# Real-time factor assumed for an audio model before this machine has measured one.
_DEFAULT_REAL_TIME_FACTOR = 0.5
# Seconds an audio_url job is estimated at before its length is known (download + transcription).
_URL_ESTIMATE = 60.0


class Service(Protocol):
    """A background companion of the engine (webhook deliverer, watcher, exporter)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Submission:
    """The answer to an ingest: the job, and whether it is an earlier identical one."""

    job: Job
    duplicate: bool
    estimated_duration_seconds: float

    def to_api(self) -> dict[str, Any]:
        return {
            "job_id": self.job.job_id,
            "status": self.job.status.api_status,
            "estimated_duration_seconds": round(self.estimated_duration_seconds),
            "transcription_id": self.job.transcription_id,
            "duplicate": self.duplicate,
        }


def media_memory_limit(settings: Settings) -> int:
    """Bytes of address space a media helper may use (``media_memory_limit_mb``, or sized from the limits)."""
    if settings.media_memory_limit_mb > 0:
        return settings.media_memory_limit_mb << 20
    return memory_limit_for(settings.max_audio_seconds, settings.max_channels)


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex


class Engine:
    def __init__(self, settings: Settings, store: Store, lock: DataDirLock):
        self.settings = settings
        self.store = store
        self._lock = lock
        self.models = ModelManager(settings)
        self.retry = RetryStrategy(max_attempts=settings.job_max_attempts, base_seconds=settings.retry_base_seconds,
                                   max_seconds=settings.retry_max_seconds)
        # Untrusted media is probed and decoded in helper processes (a decoder crash fails one file).
        self.media = MediaSandbox(settings.data_dir / "scratch", max_seconds=settings.max_audio_seconds,
                                  max_channels=settings.max_channels, memory_limit=media_memory_limit(settings),
                                  helpers=settings.heavy_workers + 1)
        self.runner = JobRunner(store, settings, self.models, self.retry, decoder=self.media)
        self.voices = self.runner.voices  # voice profiles (engine/voices.py): remember, list, forget
        self.workers: WorkerPool | None = None
        self._services: list[Service] = []
        self._job_done = threading.Condition()
        self._closed = False
        self._sweeper_stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.default_configuration_id = store.configurations.ensure_default().configuration_id
        self._ingest_commit: GroupCommit[PreparedIngest, IngestOutcome] = GroupCommit(
            store.db, self._write_ingest_batch)
        # Queued seconds of work per weight class (heavy?), for estimates: re-read by the ingest writer
        # at most twice a second, so an ingest never waits on it.
        self._work_ahead: dict[bool, tuple[float, float]] = {}  # heavy? -> (read at, seconds)
        self._key_revoked_listeners: list[Callable[[str], None]] = []

    # --- lifecycle --------------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings | None = None, *, workers: bool = True) -> Engine:
        """Take the data directory, migrate the database, resume interrupted jobs, start workers."""
        settings = settings or Settings()
        settings.ensure_dirs()
        lock = DataDirLock(settings.lock_path)
        lock.acquire()
        try:
            store = Store(settings.db_path)
        except duckdb.IOException as exc:
            lock.release()
            if "lock" in str(exc).lower():
                raise DataDirLockedError(str(settings.data_dir), holder_pid(settings.lock_path)) from None
            raise
        except BaseException:
            lock.release()
            raise
        engine = cls(settings, store, lock)
        for job in store.jobs.interrupted_without_attempts_left():
            log.error("job %s was interrupted on each of its %d attempts; marking it FAILED", job.job_id, job.attempts)
            engine.runner.fail_interrupted(job)
        resumed = store.jobs.requeue_interrupted()
        if resumed:
            log.warning("resuming %d job(s) interrupted by a previous shutdown: %s", len(resumed), resumed)
        if workers:
            engine.start_workers()
        return engine

    def start_workers(self) -> None:
        if self.workers is not None:
            return
        self.workers = WorkerPool(self.store.jobs, self.runner.run, heavy=self.settings.heavy_workers,
                                  light=self.settings.light_workers, on_job_done=self._notify_job_done)
        self.workers.start()
        self._sweeper = threading.Thread(target=self._sweep_idle_models, name="heard-model-sweeper", daemon=True)
        self._sweeper.start()

    def add_service(self, service: Service, *, start: bool = True) -> None:
        self._services.append(service)
        if start:
            service.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for service in reversed(self._services):
            try:
                service.stop()
            except Exception:
                log.exception("stopping %s failed", service)
        if self.workers is not None:
            self.workers.stop()
        self._ingest_commit.close()  # after the services: the watcher ingests until it stops
        self._sweeper_stop.set()
        self.models.close()
        self.media.close()
        self.store.close()
        self._lock.release()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sweep_idle_models(self) -> None:
        while not self._sweeper_stop.wait(30.0):
            self.models.unload_idle()

    def _notify_job_done(self, job: Job) -> None:
        with self._job_done:
            self._job_done.notify_all()

    # --- configurations ---------------------------------------------------------------------------

    def resolve_configuration(self, configuration_id_or_tag: str | None) -> Configuration:
        """The configuration by id or tag; the default one when none is named."""
        if not configuration_id_or_tag:
            return self.store.configurations.get(self.default_configuration_id)
        try:
            return self.store.configurations.get(configuration_id_or_tag)
        except NotFoundError:
            by_tag = self.store.configurations.find_by_tag(configuration_id_or_tag)
            if by_tag is None:
                raise NotFoundError(f"Configuration {configuration_id_or_tag!r} not found",
                                    field="configuration_id") from None
            return by_tag

    def create_configuration(self, data: ConfigurationInput | dict[str, Any]) -> tuple[Configuration, str]:
        """Returns the configuration and its webhook signing secret (shown once)."""
        from heard_local.engine.webhooks import check_webhook_urls

        checked = parse(ConfigurationInput, data)
        check_webhook_urls(checked.webhooks, self.settings)
        return self.store.configurations.create(checked)

    def list_configurations(self) -> list[Configuration]:
        return self.store.configurations.list()

    def get_configuration(self, configuration_id: str) -> Configuration:
        return self.store.configurations.get(configuration_id)

    def update_configuration(self, configuration_id: str,
                             update: ConfigurationUpdate | dict[str, Any]) -> Configuration:
        current = self.store.configurations.get(configuration_id)
        change = parse(ConfigurationUpdate, update)
        try:
            merged = change.apply_to(current)
        except pydantic.ValidationError as exc:  # the merged whole can break a rule
            raise validation_error_from_pydantic(exc) from None
        if change.webhooks is not None:
            from heard_local.engine.webhooks import check_webhook_urls

            check_webhook_urls(merged.webhooks, self.settings)
        return self.store.configurations.replace(configuration_id, merged)

    def delete_configuration(self, configuration_id: str) -> None:
        self.store.configurations.delete(configuration_id)

    def webhook_secret(self, configuration_id: str) -> str | None:
        return self.store.configurations.webhook_secret(configuration_id)

    # --- ingestion --------------------------------------------------------------------------------

    def submit_transcript(self, request: TranscriptIngest | dict[str, Any]) -> Submission:
        return self._enqueue(self._prepare_transcript(request))

    async def submit_transcript_async(self, request: TranscriptIngest | dict[str, Any]) -> Submission:
        """``submit_transcript`` for an event loop: awaits the write without holding a thread. The
        configuration comes from the engine's cache (a miss reads the database once)."""
        future = self._ingest_commit.submit(self._prepare_transcript(request))
        return self._submitted(await asyncio.wrap_future(future))

    def _prepare_transcript(self, request: TranscriptIngest | dict[str, Any]) -> PreparedIngest:
        request = parse(TranscriptIngest, request)
        configuration = self.resolve_configuration(request.chosen_configuration)
        sha = hashlib.sha256(request.transcript_text.encode("utf-8")).hexdigest()
        return self._prepare(
            kind=JobKind.TRANSCRIPT,
            configuration=configuration,
            metadata=request.metadata,
            sha256=sha,
            payload={"transcript_text": request.transcript_text},
            media_path=None,
            estimate=_TRANSCRIPT_ESTIMATE,
        )

    def submit_audio_file(self, path: Path, *, metadata: IngestMetadata | dict[str, Any] | None = None,
                          configuration: str | None = None, original_name: str | None = None,
                          move: bool = False) -> Submission:
        """Queue a local audio file. The format is read from its content (415 for anything else); the
        file is copied (or moved, ``move=True``) under the data directory by content hash."""
        meta = parse(IngestMetadata, metadata or {}, prefix="metadata")
        chosen = self.resolve_configuration(configuration or meta.configuration_id)
        fmt = detect_audio_format(path)
        header = self.media.probe(path)  # in a helper process: the file is untrusted
        check_limits(header.seconds, header.channels, max_seconds=self.settings.max_audio_seconds,
                     max_channels=self.settings.max_channels)  # before the 202, not after queueing it
        sha = sha256_file(path)
        if meta.name is None and original_name:
            meta.name = Path(original_name).name[:255]
        duplicate = self._find_duplicate(sha, chosen.configuration_id)
        if duplicate is not None:
            if move:
                path.unlink(missing_ok=True)
            return self._duplicate_submission(duplicate)
        stored = store_media(path, self.settings.media_dir, sha, fmt, move=move)
        return self._enqueue(self._prepare(
            kind=JobKind.AUDIO,
            configuration=chosen,
            metadata=meta,
            sha256=sha,
            payload={"media_path": str(stored), "format": fmt},
            media_path=str(stored),
            estimate=self._estimate_for(header.seconds),
        ))

    def submit_audio_url(self, request: AudioUrlIngest | dict[str, Any]) -> Submission:
        """Queue an audio_url. Only the checks that need no network run here (scheme, shape, hosts that
        are private addresses); the worker resolves, re-checks and downloads it (SSRF-safe, capped)."""
        from heard_local.adapters.url_fetch import UrlPolicy, check_url, url_file_name

        request = parse(AudioUrlIngest, request)
        url = check_url(request.audio_url, UrlPolicy.from_settings(self.settings))
        configuration = self.resolve_configuration(request.chosen_configuration)
        if request.metadata.name is None:
            request.metadata.name = url_file_name(url)
        return self._enqueue(self._prepare(
            kind=JobKind.AUDIO,
            configuration=configuration,
            metadata=request.metadata,
            sha256=hashlib.sha256(f"url:{url}".encode()).hexdigest(),  # replaced by the content's once fetched
            payload={"audio_url": url},
            media_path=None,
            estimate=_URL_ESTIMATE,
        ))

    def run_idempotent(self, scope: str, request_hash: str,
                       action: Callable[[], tuple[int, dict[str, Any]]]) -> StoredResponse:
        """Run ``action`` once per ``scope`` (an API key and its Idempotency-Key): a retry gets the first
        response back, the same key with another request a 422, and a failing action stores nothing."""
        return self.store.idempotency.run_once(scope, request_hash, self.settings.idempotency_ttl_seconds, action)

    def _find_duplicate(self, sha: str, configuration_id: str) -> Job | None:
        return self.store.jobs.find_duplicate(self.store.db.cursor(), f"{sha}:{configuration_id}")

    def _duplicate_submission(self, job: Job) -> Submission:
        remaining = 0.0 if job.status in (JobStatus.COMPLETED, JobStatus.FAILED) else (
            job.estimated_duration_seconds or 0.0)
        return Submission(job=job, duplicate=True, estimated_duration_seconds=remaining)

    def _prepare(self, *, kind: JobKind, configuration: Configuration, metadata: IngestMetadata, sha256: str,
                 payload: dict[str, Any], media_path: str | None, estimate: float) -> PreparedIngest:
        """Everything an ingest needs that takes no database: ids, normalised identifiers, JSON."""
        phone = normalize_phone(metadata.phone, self.settings.default_phone_region)
        email = normalize_email(metadata.customer_email)
        stored_metadata = metadata.stored()
        if phone:
            stored_metadata["normalized_phone"] = phone
        if email:
            stored_metadata["normalized_email"] = email
        return PreparedIngest(
            kind=kind, configuration_id=configuration.configuration_id,
            dedup_key=f"{sha256}:{configuration.configuration_id}", sha256=sha256,
            transcription_id=str(uuid.uuid4()), job_id=new_job_id(),
            identity=IdentityClaim(phone=phone, email=email, name=metadata.customer_name),
            name=metadata.name, metadata=stored_metadata,
            payload={**payload, "metadata": metadata.model_dump(mode="json", exclude_none=True)},
            channel=metadata.channel.value if metadata.channel else ("voice" if kind is JobKind.AUDIO else None),
            source=metadata.source, media_path=media_path, recorded_at=metadata.recorded_at,
            max_attempts=self.settings.job_max_attempts, estimate=estimate,
        )

    def _enqueue(self, prepared: PreparedIngest) -> Submission:
        return self._submitted(self._ingest_commit.run(prepared))

    def _submitted(self, outcome: IngestOutcome) -> Submission:
        if outcome.duplicate:
            return self._duplicate_submission(outcome.job)
        if self.workers is not None:
            self.workers.notify(outcome.job.kind)
        estimate = outcome.job.estimated_duration_seconds or 0.0
        return Submission(job=outcome.job, duplicate=False, estimated_duration_seconds=estimate + outcome.queue_ahead)

    def _write_ingest_batch(self, cur: duckdb.DuckDBPyConnection,
                            items: Sequence[PreparedIngest]) -> list[IngestOutcome]:
        """The ingest writer's batch: the work already queued ahead (re-read at most twice a second),
        then the rows."""
        now = time.monotonic()
        ahead: dict[bool, float] = {}
        for heavy in {item.kind.heavy for item in items}:
            read_at, seconds = self._work_ahead.get(heavy, (-1.0, 0.0))
            if now - read_at > 0.5:
                seconds = self.store.jobs.work_ahead_seconds(heavy, cur)
                self._work_ahead[heavy] = (now, seconds)
            ahead[heavy] = seconds
        outcomes = write_ingest_batch(self.store, cur, items)
        for item, outcome in zip(items, outcomes, strict=True):
            outcome.queue_ahead = ahead[item.kind.heavy]
        return outcomes

    def estimate_audio_seconds(self, path: Path) -> float:
        """Audio duration × this machine's measured real-time factor for the configured model."""
        return self._estimate_for(self.media.probe(path).seconds)

    def _estimate_for(self, duration: float | None) -> float:
        if duration is None:
            return 30.0
        factor = self.store.model_speed.real_time_factor(self.models.whisper_in_use())
        return max(1.0, duration * (factor if factor is not None else _DEFAULT_REAL_TIME_FACTOR))

    def reprocess(self, transcription_id: str) -> Job:
        """Re-run extraction and summary on a stored conversation (after Ollama was down, or after the
        configuration's fields changed) without transcribing again."""
        transcription = self.store.transcriptions.get(transcription_id)
        if transcription.status is not TranscriptionStatus.COMPLETED:
            raise ValidationError("Only completed transcriptions can be re-processed", field="transcription_id")
        job_id = new_job_id()
        with self.store.db.write() as cur:
            self.store.jobs.insert(cur, NewJob(
                job_id=job_id, kind=JobKind.REPROCESS, transcription_id=transcription_id,
                configuration_id=transcription.configuration_id, payload={},
                max_attempts=self.settings.job_max_attempts,
            ))
        if self.workers is not None:
            self.workers.notify(JobKind.REPROCESS)
        return self.store.jobs.get(job_id)

    def reprocess_configuration(self, configuration_id: str) -> list[Job]:
        self.store.configurations.get(configuration_id)
        return [self.reprocess(tid) for tid in self.store.transcriptions.completed_ids(configuration_id)]

    # --- jobs -------------------------------------------------------------------------------------

    def get_job(self, job_id: str) -> Job:
        return self._with_live_progress(self.store.jobs.get(job_id))

    def _with_live_progress(self, job: Job) -> Job:
        """A running job's progress as its worker last reported it (the row is updated sparingly)."""
        live = self.runner.live_progress.get(job.job_id) if job.status is JobStatus.IN_PROGRESS else None
        return job if live is None else job.model_copy(update={"progress": live})

    def job_view(self, job_id: str) -> dict[str, Any]:
        job = self.get_job(job_id)
        view = job.to_api(queue_position=self.store.jobs.queue_position(job))
        return view

    def wait_for_job(self, job_id: str, timeout: float | None = None,
                     on_progress: Callable[[Job], None] | None = None) -> Job:
        """Block until the job is COMPLETED or FAILED (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get_job(job_id)
            if on_progress is not None:
                on_progress(job)
            if job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
                return job
            if deadline is not None and time.monotonic() >= deadline:
                return job
            with self._job_done:
                self._job_done.wait(0.2)

    def latest_job(self, transcription_id: str) -> Job | None:
        """The most recent job of a transcription (its processing, or a re-run of the LLM stage)."""
        job = self.store.jobs.latest_for_transcription(transcription_id)
        return None if job is None else self._with_live_progress(job)

    def list_jobs(self, limit: int = 50) -> list[Job]:
        return [self._with_live_progress(job) for job in self.store.jobs.list_recent(limit)]

    # --- transcriptions ---------------------------------------------------------------------------

    def get_transcription(self, transcription_id: str) -> Transcription:
        return self.store.transcriptions.get(transcription_id)

    def list_transcriptions(self, flt: TranscriptionFilter | None = None, *, limit: int = 50,
                            offset: int = 0) -> Page:
        if not 1 <= limit <= 1000:
            raise ValidationError("limit must be between 1 and 1000", field="limit")
        if offset < 0:
            raise ValidationError("offset must not be negative", field="offset")
        return self.store.transcriptions.list(flt or TranscriptionFilter(), limit=limit, offset=offset)

    def set_group(self, transcription_id: str, group: TranscriptionGroup | str | None) -> Transcription:
        if isinstance(group, str):
            try:
                group = TranscriptionGroup(group)
            except ValueError:
                raise ValidationError(
                    "group must be one of PENDING_REVIEW, UNDER_REVIEW, ARCHIVED or null", field="group"
                ) from None
        self.store.transcriptions.set_group(transcription_id, group)
        return self.get_transcription(transcription_id)

    def rename_speaker(self, transcription_id: str, speaker: str, name: str | None) -> Transcription:
        self.store.transcriptions.rename_speaker(transcription_id, speaker, name)
        return self.get_transcription(transcription_id)

    def rename_transcription(self, transcription_id: str, name: str | None) -> Transcription:
        if name is not None and len(name) > 255:
            raise ValidationError("name must be at most 255 characters", field="name")
        self.store.transcriptions.set_name(transcription_id, name)
        return self.get_transcription(transcription_id)

    def delete_transcription(self, transcription_id: str) -> None:
        busy = self.workers.busy_jobs() if self.workers else []
        job = self.store.jobs.latest_for_transcription(transcription_id)
        if job is not None and job.job_id in busy:
            raise ConflictError("This transcription is being processed right now; try again when it finishes.",
                                field="transcription_id")
        with self.store.db.write() as cur:
            media = self.store.transcriptions.delete(cur, transcription_id)
            still_used = bool(media) and self.store.transcriptions.media_in_use(cur, media)
        if media and not still_used:
            Path(media).unlink(missing_ok=True)

    def media_path(self, transcription_id: str) -> Path | None:
        media = self.store.transcriptions.media_path(transcription_id)
        return Path(media) if media else None

    @cached_property
    def corrections(self) -> TranscriptCorrections:
        """Undoable corrections of finished transcripts (engine/corrections.py)."""
        return TranscriptCorrections(self.store)

    # --- customers --------------------------------------------------------------------------------

    def list_customers(self, *, search: str | None = None, limit: int = 100,
                       offset: int = 0) -> tuple[list[Customer], int]:
        return self.store.customers.list(search=search, limit=limit, offset=offset)

    def get_customer(self, customer_id: str) -> Customer:
        return self.store.customers.get(customer_id)

    def customer_conversations(self, customer_id: str, limit: int = 200) -> Page:
        self.store.customers.get(customer_id)
        return self.store.transcriptions.list(TranscriptionFilter(customer_id=customer_id), limit=limit)

    def find_customer(self, *, phone: str | None = None, email: str | None = None) -> Customer | None:
        return self.store.customers.find(phone=normalize_phone(phone, self.settings.default_phone_region),
                                         email=normalize_email(email))

    # --- API keys ---------------------------------------------------------------------------------

    def create_api_key(self, name: str) -> tuple[ApiKey, str]:
        return self.store.api_keys.create(name)

    def list_api_keys(self) -> list[ApiKey]:
        return self.store.api_keys.list()

    def revoke_api_key(self, key_id_or_name: str) -> ApiKey:
        revoked = self.store.api_keys.revoke(key_id_or_name)
        for listener in list(self._key_revoked_listeners):
            listener(revoked.key_id)
        return revoked

    def on_key_revoked(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(key_id)`` after every revocation (front doors that cache verified keys drop them,
        whichever door revoked the key)."""
        self._key_revoked_listeners.append(listener)

    def authenticate(self, key: str | None) -> ApiKey:
        return self.store.api_keys.authenticate(key)

    # --- analytics and the LLM ---------------------------------------------------------------------

    @cached_property
    def analytics(self) -> AnalyticsReporter:
        return AnalyticsReporter(self.store, self.models, self.settings)

    def analytics_report(self, configuration_id: str, *, include_narrative: bool = True) -> dict[str, Any]:
        """The configuration's Executive and Qualitative Analysis Report (shape: engine/analytics.py).
        Its numbers never need Ollama; when the narrative cannot be written it says why."""
        return self.analytics.report(self.get_configuration(configuration_id), include_narrative=include_narrative)

    def llm_health(self) -> dict[str, Any]:
        """Ollama's state for the UI, API and CLI: ``status`` running / not_running / model_not_pulled /
        error, ``ok``, ``host``, ``model``, ``available_models`` and a ``message`` saying what to do."""
        try:
            llm = self.models.llm.get()
        except ImportError as exc:
            return {"status": "error", "ok": False, "host": self.settings.ollama_host,
                    "model": self.settings.ollama_model, "available_models": [],
                    "message": f"The ollama Python package is missing ({exc}); reinstall heard-local."}
        return llm.health()

    # --- exports (notebooks, BI tools, CSV) -------------------------------------------------------

    def export_parquet(self, directory: Path | None = None, *, force: bool = False) -> dict[str, Any]:
        """Every table as ``<name>.parquet`` in ``directory`` (default: the data directory's exports/,
        which a running server keeps fresh); skipped when the snapshot there is already current.
        Returns the snapshot's manifest (when, where, rows per table)."""
        return write_snapshot(self.store, directory or self.settings.export_dir, force=force)

    def export_fields(self, configuration: str | None = None) -> FieldExport:
        """Completed conversations with their extracted fields, for one configuration (id or tag) or all."""
        configuration_id = self.resolve_configuration(configuration).configuration_id if configuration else None
        return field_export(self.store.db, configuration_id)

    # --- status -----------------------------------------------------------------------------------

    def services_status(self) -> dict[str, Any]:
        """What the background services that report on themselves say, by class name (the watcher:
        its folders and their last activity)."""
        return {type(service).__name__: service.status() for service in self._services
                if callable(getattr(service, "status", None))}

    def check_store(self) -> None:
        """Read the database once; raises when it cannot be read (/health: a supervisor must see it)."""
        self.store.db.fetchone("SELECT count(*) FROM (SELECT 1 FROM jobs LIMIT 1)")

    def status(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.settings.data_dir),
            "jobs": self.store.jobs.counts(),
            "workers": {"heavy": self.settings.heavy_workers, "light": self.settings.light_workers,
                        "busy": self.workers.busy_jobs() if self.workers else []},
            "models": {m.name: m.status() for m in self.models.all()},
            "webhooks_pending": self.store.webhooks.pending_count(),
            "services": self.services_status(),
        }
