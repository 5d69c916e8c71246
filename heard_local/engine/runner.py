"""Running one job: the conversation stage, the LLM stages, then one transaction for the outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heard_local.config import Settings
from heard_local.domain import Configuration, Job, JobKind, LlmStatus, Progress, SpeakerInfo
from heard_local.domain.clock import utcnow
from heard_local.domain.job import AudioFilePayload, AudioUrlPayload, TranscriptPayload
from heard_local.domain.metadata import IngestMetadata
from heard_local.engine.models import ModelManager
from heard_local.engine.progress import JobProgressRecorder
from heard_local.engine.redaction_stage import RedactionOutcome, run_redaction
from heard_local.engine.retry import RetryStrategy
from heard_local.engine.voices import VoiceProfiles
from heard_local.errors import HeardError, InternalError, LlmUnavailableError
from heard_local.pipeline.conversation import conversation_from_text
from heard_local.pipeline.enrich import EnrichmentResult, enrich, wants_llm
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import AudioDecoder, ConversationResult, LlmContext
from heard_local.store import Store
from heard_local.store.webhooks import ERROR, SUCCESS

log = logging.getLogger(__name__)


def describe_error(error: BaseException) -> tuple[str, str, int]:
    """(message, API code, HTTP status) for a job failure; never a stack trace."""
    if isinstance(error, HeardError):
        return error.message, error.code, error.http_status
    return f"Processing failed unexpectedly ({type(error).__name__}: {error})", InternalError.code, 500


class JobRunner:
    def __init__(self, store: Store, settings: Settings, models: ModelManager, retry: RetryStrategy, *,
                 decoder: AudioDecoder | None = None):
        self.store = store
        self.decoder = decoder  # None: PyAV in this process
        self.settings = settings
        self.models = models
        self.retry = retry
        # job id -> latest progress of the jobs running now (see JobProgressRecorder)
        self.live_progress: dict[str, Progress] = {}
        self.voices = VoiceProfiles(store)

    def run(self, job: Job) -> None:
        recorder = JobProgressRecorder(self.store.jobs, job.job_id, self.live_progress)
        try:
            self._run(job, recorder)
        finally:
            self.live_progress.pop(job.job_id, None)

    def _run(self, job: Job, recorder: JobProgressRecorder) -> None:
        try:
            configuration = self.store.configurations.get(job.configuration_id)
            if job.kind is JobKind.REPROCESS:
                self._reprocess(job, configuration, recorder)
                return
            conversation = self._conversation(job, configuration, recorder)
            redaction = self._redact(job, configuration, conversation)
            conversation = redaction.conversation
            speakers = {
                speaker: SpeakerInfo(role=conversation.speaker_roles.get(speaker))
                for speaker in dict.fromkeys(s.speaker for s in conversation.segments)
            }
            speakers = self.voices.recognise(conversation.voiceprints, speakers)

            def save_conversation(cur: Any) -> None:
                self.store.transcriptions.save_conversation(
                    cur, job.transcription_id, segments=conversation.segments, language=conversation.language,
                    duration=conversation.duration, speakers=speakers, warnings=conversation.warnings,
                    words=conversation.words,
                )
                self.store.voices.save_voiceprints(cur, job.transcription_id, conversation.voiceprints)
                redaction.save(cur, self.store, job.transcription_id)

            llm = wants_llm(configuration)
            if llm:
                with self.store.db.write() as cur:  # committed first: the LLM stage reads it back
                    save_conversation(cur)
            outcome = self._enrich(job, configuration, recorder)  # NOT_REQUESTED without an LLM stage
            # without one, a single transaction takes the conversation to COMPLETED
            self._complete(job, configuration, outcome, duration=conversation.duration,
                           before=None if llm else save_conversation)
            redaction.finish(self.store)
        except Exception as error:  # every failure is recorded on the job; the worker never dies
            self._fail_or_retry(job, error)

    # --- stages -----------------------------------------------------------------------------------

    def _redact(self, job: Job, configuration: Configuration, conversation: ConversationResult) -> RedactionOutcome:
        """The configuration's ``redact`` applied before anything is stored (engine/redaction_stage.py)."""
        media = None
        if configuration.redact_audio and job.kind is JobKind.AUDIO:  # an audio_url job's file is known by now
            payload = self.store.jobs.get(job.job_id).payload
            media = payload.media_path if isinstance(payload, AudioFilePayload | AudioUrlPayload) else None
        metadata = IngestMetadata.model_validate(self.store.transcriptions.metadata(job.transcription_id))
        return run_redaction(conversation, configuration, metadata, media=Path(media) if media else None,
                             region=self.settings.default_phone_region, decoder=self.decoder)

    def _conversation(self, job: Job, configuration: Configuration, hook: ProgressHook) -> ConversationResult:
        # The submission's metadata, stored once: on the transcription (as IngestMetadata.stored() wrote it).
        metadata = IngestMetadata.model_validate(self.store.transcriptions.metadata(job.transcription_id))
        if isinstance(job.payload, TranscriptPayload):
            return conversation_from_text(job.payload.transcript_text, language=metadata.language, hook=hook)
        return self._conversation_from_audio(job, configuration, metadata, hook)

    def _conversation_from_audio(self, job: Job, configuration: Configuration, metadata: IngestMetadata,
                                 hook: ProgressHook) -> ConversationResult:
        from heard_local.engine.audio_stage import run_audio_stage

        # An audio_url job downloads its audio first (once: a retry finds it already stored).
        payload = job.payload
        if isinstance(payload, AudioFilePayload):
            media = Path(payload.media_path)
        elif isinstance(payload, AudioUrlPayload):
            media = Path(payload.media_path or self._fetch_audio_url(job, payload.audio_url, hook))
        else:
            raise InternalError(f"job {job.job_id} ({job.kind.value}) has no audio to transcribe")
        started = time.monotonic()
        conversation = run_audio_stage(
            path=media,
            configuration=configuration,
            metadata=metadata,
            models=self.models,
            settings=self.settings,
            hook=hook,
            decoder=self.decoder,
        )
        # this machine's real-time factor, for the next jobs' estimated_duration_seconds
        self.store.model_speed.record(self.models.whisper_in_use(), conversation.duration or 0.0,
                                      time.monotonic() - started)
        return conversation

    def _fetch_audio_url(self, job: Job, audio_url: str, hook: ProgressHook) -> str:
        from heard_local.adapters.url_fetch import UrlFetcher
        from heard_local.engine.media import store_media

        fetched = UrlFetcher.from_settings(self.settings).fetch(audio_url, self.settings.media_dir,
                                                                hook=hook)
        stored = store_media(fetched.path, self.settings.media_dir, fetched.sha256, fetched.format, move=True)
        self.store.fetched_media.attach(job_id=job.job_id, transcription_id=job.transcription_id,
                                        media_path=str(stored), media_format=fetched.format, sha256=fetched.sha256)
        return str(stored)

    def _enrich(self, job: Job, configuration: Configuration, hook: ProgressHook) -> EnrichmentResult:
        if not wants_llm(configuration):
            return EnrichmentResult(fields=None, summary=None, status=LlmStatus.NOT_REQUESTED)
        transcription = self.store.transcriptions.get(job.transcription_id)
        details = transcription.details
        segments = self.store.transcriptions.segments(job.transcription_id)
        speakers = details.speakers if details else {}
        language = self.store.transcriptions.language_of(job.transcription_id)
        context = LlmContext(
            segments=segments,
            language=language,
            speaker_labels={k: (v.name or v.role or k) for k, v in speakers.items()},
            metadata=transcription.metadata,
            summary_instructions=configuration.summary_instructions,
        )
        try:
            llm = self.models.llm.get()
        except ImportError as exc:
            return EnrichmentResult(fields=None, summary=None, status=LlmStatus.PENDING,
                                    pending_reason=f"The LLM adapter is not available: {exc}")
        except LlmUnavailableError as exc:
            return EnrichmentResult(fields=None, summary=None, status=LlmStatus.PENDING,
                                    pending_reason=str(exc))
        return enrich(context, configuration, extractor=llm, summarizer=llm, hook=hook)

    def _reprocess(self, job: Job, configuration: Configuration, hook: ProgressHook) -> None:
        outcome = self._enrich(job, configuration, hook)
        with self.store.db.write() as cur:
            self._save_llm(cur, job, configuration, outcome)
            self.store.jobs.mark_completed(cur, job.job_id)

    # --- outcomes ---------------------------------------------------------------------------------

    def _save_llm(self, cur: Any, job: Job, configuration: Configuration, outcome: EnrichmentResult, *,
                  complete: bool = False) -> None:
        self.store.transcriptions.save_llm_results(
            cur, job.transcription_id, fields=outcome.fields,
            field_types={f.name: f.type.value for f in configuration.extraction_fields},
            summary=outcome.summary, status=outcome.status, pending_reason=outcome.pending_reason, complete=complete,
        )

    def _complete(self, job: Job, configuration: Configuration, outcome: EnrichmentResult,
                  duration: float | None, before: Callable[[Any], None] | None = None) -> None:
        with self.store.db.write() as cur:
            if before is not None:
                before(cur)
            self._save_llm(cur, job, configuration, outcome, complete=True)
            self.store.jobs.mark_completed(cur, job.job_id)
            self._notify(cur, job, configuration, SUCCESS, {
                "transcription_id": job.transcription_id,
                "status": "COMPLETED",
                "configuration_id": configuration.configuration_id,
                "duration": duration,
                "completed_at": utcnow().isoformat().replace("+00:00", "Z"),
            })
        log.info("job %s completed (transcription %s)", job.job_id, job.transcription_id)

    def fail_interrupted(self, job: Job) -> None:
        """A job whose process died on every attempt: FAILED (with its webhook), never run again."""
        times = "once" if job.attempts == 1 else f"{job.attempts} times"
        self._fail_or_retry(job, InternalError(
            f"Processing was interrupted {times} (heard-local stopped or crashed while running this job, "
            "e.g. out of memory), so it is not tried again. Check the file, then submit it again."))

    def _fail_or_retry(self, job: Job, error: BaseException) -> None:
        message, code, status = describe_error(error)
        delay = self.retry.delay(job.attempts) if self.retry.is_retryable(error) else None
        if delay is not None:
            log.warning("job %s attempt %d failed (%s); retrying in %.1fs", job.job_id, job.attempts, message, delay)
            self.store.jobs.retry_later(job.job_id, message, code, delay)
            return
        if not isinstance(error, HeardError):
            log.error("job %s failed", job.job_id, exc_info=error)
        else:
            log.warning("job %s failed: %s", job.job_id, message)
        with self.store.db.write() as cur:
            self.store.jobs.mark_failed(cur, job.job_id, message, code)
            if job.kind is JobKind.REPROCESS:
                self.store.transcriptions.mark_llm_pending(cur, job.transcription_id, message)
                return
            self.store.transcriptions.mark_failed(cur, job.transcription_id, message, code)
            try:
                configuration = self.store.configurations.get(job.configuration_id)
            except HeardError:
                return
            self._notify(cur, job, configuration, ERROR, {
                "transcription_id": job.transcription_id,
                "status": "FAILED",
                "error": {"message": message, "code": status},
            })

    def _notify(self, cur: Any, job: Job, configuration: Configuration, event: str, payload: dict[str, Any]) -> None:
        """Queue the configuration's webhook for ``event`` in the caller's transaction (the outbox)."""
        hooks = configuration.webhooks
        url = (hooks.success_url if event == SUCCESS else hooks.error_url) if hooks else None
        if url:
            self.store.webhooks.enqueue(cur, transcription_id=job.transcription_id,
                                        configuration_id=configuration.configuration_id, event=event, url=url,
                                        payload=payload)
