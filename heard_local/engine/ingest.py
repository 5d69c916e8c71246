"""Accepting work: transcripts, local audio files and audio URLs become a stored transcription and a
queued job (or, for content already submitted to the same configuration, the earlier job)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard_local.adapters.audio_decode import check_limits
from heard_local.domain import (
    AudioUrlIngest,
    Configuration,
    IngestMetadata,
    Job,
    JobKind,
    JobStatus,
    Submission,
    TranscriptIngest,
)
from heard_local.domain.job import AudioFilePayload, AudioUrlPayload, JobPayload, TranscriptPayload
from heard_local.domain.validation import parse
from heard_local.engine.configurations import ConfigurationService
from heard_local.engine.jobs import new_job_id
from heard_local.engine.media import sha256_file, store_media
from heard_local.pipeline.audio_format import detect_audio_format
from heard_local.store import Store
from heard_local.store.customers import IdentityClaim
from heard_local.store.idempotency import StoredResponse
from heard_local.store.ingests import IngestOutcome, PreparedIngest

if TYPE_CHECKING:
    from heard_local.engine.lifecycle import Lifecycle

# Seconds a transcript job takes at most, for estimated_duration_seconds before any measurement.
_TRANSCRIPT_ESTIMATE = 1.0
# Real-time factor assumed for an audio model before this machine has measured one.
_DEFAULT_REAL_TIME_FACTOR = 0.5
# Seconds an audio_url job is estimated at before its length is known (download + transcription).
_URL_ESTIMATE = 60.0
# Seconds an audio job is estimated at when its header gives no duration.
_UNKNOWN_LENGTH_ESTIMATE = 30.0


class IngestService:
    def __init__(self, store: Store, lifecycle: Lifecycle, configurations: ConfigurationService):
        self._store = store
        self._lifecycle = lifecycle
        self._settings = lifecycle.settings
        self._configurations = configurations

    def transcript(self, request: TranscriptIngest | dict[str, Any]) -> Submission:
        return self._submitted(self._store.ingests.run(self._prepare_transcript(request)))

    async def transcript_async(self, request: TranscriptIngest | dict[str, Any]) -> Submission:
        """``transcript`` for an event loop: awaits the write without holding a thread. The
        configuration comes from the store's cache (a miss reads the database once)."""
        future = self._store.ingests.submit(self._prepare_transcript(request))
        return self._submitted(await asyncio.wrap_future(future))

    def audio_file(self, path: Path, *, metadata: IngestMetadata | dict[str, Any] | None = None,
                   configuration: str | None = None, original_name: str | None = None,
                   move: bool = False, sha256: str | None = None) -> Submission:
        """Queue a local audio file. The format is read from its content (415 for anything else); the
        file is copied (or moved, ``move=True``) under the data directory by content hash. ``sha256``:
        the file's hash when the caller already computed it (an upload is hashed as it streams in)."""
        meta = parse(IngestMetadata, metadata or {}, prefix="metadata")
        chosen = self._configurations.resolve(configuration or meta.configuration_id)
        fmt = detect_audio_format(path)
        header = self._lifecycle.media.probe(path)  # in a helper process: the file is untrusted
        check_limits(header.seconds, header.channels, max_seconds=self._settings.max_audio_seconds,
                     max_channels=self._settings.max_channels)  # before the 202, not after queueing it
        sha = sha256 or sha256_file(path)
        if meta.name is None and original_name:
            meta.name = Path(original_name).name[:255]
        # Content-addressed: a duplicate's media is already in place, so this copies nothing for it, and
        # the writer's one duplicate check (inside its transaction) decides.
        stored = store_media(path, self._settings.media_dir, sha, fmt, move=move)
        return self._submitted(self._store.ingests.run(self._prepare(
            kind=JobKind.AUDIO,
            configuration=chosen,
            metadata=meta,
            sha256=sha,
            payload=AudioFilePayload(media_path=str(stored), format=fmt),
            media_path=str(stored),
            estimate=self._estimate_for(header.seconds),
        )))

    def audio_url(self, request: AudioUrlIngest | dict[str, Any]) -> Submission:
        """Queue an audio_url. Only the checks that need no network run here (scheme, shape, hosts that
        are private addresses); the worker resolves, re-checks and downloads it (SSRF-safe, capped)."""
        from heard_local.adapters.url_fetch import UrlPolicy, check_url, url_file_name

        request = parse(AudioUrlIngest, request)
        url = check_url(request.audio_url, UrlPolicy.from_settings(self._settings))
        configuration = self._configurations.resolve(request.chosen_configuration)
        if request.metadata.name is None:
            request.metadata.name = url_file_name(url)
        return self._submitted(self._store.ingests.run(self._prepare(
            kind=JobKind.AUDIO,
            configuration=configuration,
            metadata=request.metadata,
            sha256=hashlib.sha256(f"url:{url}".encode()).hexdigest(),  # replaced by the content's once fetched
            payload=AudioUrlPayload(audio_url=url),
            media_path=None,
            estimate=_URL_ESTIMATE,
        )))

    def run_idempotent(self, scope: str, request_hash: str,
                       action: Callable[[], tuple[int, dict[str, Any]]]) -> StoredResponse:
        """Run ``action`` once per ``scope`` (an API key and its Idempotency-Key): a retry gets the first
        response back, the same key with another request a 422, and a failing action stores nothing."""
        return self._store.idempotency.run_once(scope, request_hash, self._settings.idempotency_ttl_seconds, action)

    def estimate_audio_seconds(self, path: Path) -> float:
        """Audio duration × this machine's measured real-time factor for the configured model."""
        return self._estimate_for(self._lifecycle.media.probe(path).seconds)

    def _estimate_for(self, duration: float | None) -> float:
        if duration is None:
            return _UNKNOWN_LENGTH_ESTIMATE
        factor = self._store.model_speed.real_time_factor(self._lifecycle.models.whisper_in_use())
        return max(1.0, duration * (factor if factor is not None else _DEFAULT_REAL_TIME_FACTOR))

    def _prepare_transcript(self, request: TranscriptIngest | dict[str, Any]) -> PreparedIngest:
        request = parse(TranscriptIngest, request)
        configuration = self._configurations.resolve(request.chosen_configuration)
        sha = hashlib.sha256(request.transcript_text.encode("utf-8")).hexdigest()
        return self._prepare(
            kind=JobKind.TRANSCRIPT,
            configuration=configuration,
            metadata=request.metadata,
            sha256=sha,
            payload=TranscriptPayload(transcript_text=request.transcript_text),
            media_path=None,
            estimate=_TRANSCRIPT_ESTIMATE,
        )

    def _prepare(self, *, kind: JobKind, configuration: Configuration, metadata: IngestMetadata, sha256: str,
                 payload: JobPayload, media_path: str | None, estimate: float) -> PreparedIngest:
        """Everything an ingest needs that takes no database: ids, normalised identifiers, JSON."""
        stored_metadata, phone, email = metadata.identified(self._settings.default_phone_region)
        return PreparedIngest(
            kind=kind, configuration_id=configuration.configuration_id,
            dedup_key=f"{sha256}:{configuration.configuration_id}", sha256=sha256,
            transcription_id=str(uuid.uuid4()), job_id=new_job_id(),
            identity=IdentityClaim(phone=phone, email=email, name=metadata.customer_name),
            name=metadata.name, metadata=stored_metadata,
            payload=payload,
            channel=metadata.channel.value if metadata.channel else ("voice" if kind is JobKind.AUDIO else None),
            source=metadata.source, media_path=media_path, recorded_at=metadata.recorded_at,
            max_attempts=self._settings.job_max_attempts, estimate=estimate,
        )

    def _submitted(self, outcome: IngestOutcome) -> Submission:
        if outcome.duplicate:
            return _duplicate_submission(outcome.job)
        self._lifecycle.job_queued(outcome.job.kind)
        estimate = outcome.job.estimated_duration_seconds or 0.0
        return Submission(job=outcome.job, duplicate=False, estimated_duration_seconds=estimate + outcome.queue_ahead)


def _duplicate_submission(job: Job) -> Submission:
    remaining = 0.0 if job.status in (JobStatus.COMPLETED, JobStatus.FAILED) else (
        job.estimated_duration_seconds or 0.0)
    return Submission(job=job, duplicate=True, estimated_duration_seconds=remaining)
