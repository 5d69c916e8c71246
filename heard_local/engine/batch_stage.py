"""The work of one batch worker: the engine's own stages on one recording after another.

Ray Data builds one :class:`RecordingProcessor` per worker (an actor), so the models load once, in
``__init__``, and every recording the worker is given reuses them. The stages are the single-machine
engine's: decoding in the media sandbox's helper process, :func:`run_audio_stage` (transcribe ∥ diarize
→ align) and the LLM stage when the configuration asks for one. Every failure of a recording becomes a
FAILED row carrying its error, as a job's failure does; only a worker that dies (out of memory, a
crash) loses its batch, and Ray then restarts it and runs the batch again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from heard_local.adapters.media_sandbox import MediaSandbox
from heard_local.config import Settings
from heard_local.domain import Configuration, IngestMetadata, LlmStatus
from heard_local.domain.validation import parse
from heard_local.engine.audio_stage import run_audio_stage
from heard_local.engine.batch_inputs import Recording
from heard_local.engine.batch_rows import ExportShapedRows, TableSet, speakers_of, tables_to_bytes
from heard_local.engine.lifecycle import media_memory_limit
from heard_local.engine.models import ModelManager
from heard_local.engine.runner import describe_error
from heard_local.errors import LlmUnavailableError
from heard_local.pipeline.audio_format import detect_audio_format
from heard_local.pipeline.enrich import EnrichmentResult, enrich, wants_llm
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import AudioDecoder, ConversationResult, LlmContext

# The columns a worker returns per recording (the tables travel as Arrow IPC bytes).
RESULT_COLUMNS = ("content_sha256", "status", "audio_seconds", "processing_seconds",
                  "transcriptions", "segments", "fields")


class RecordingProcessor:
    """Ray Data's callable class for ``map_batches``: a batch of recordings in, their rows out."""

    def __init__(self, settings: Settings, configuration: Configuration, decoder: AudioDecoder | None = None):
        self.settings = settings
        self.configuration = configuration
        self.models = ModelManager(settings)
        self._scratch = Path(tempfile.mkdtemp(prefix="heard-batch-"))
        self.decoder = decoder or MediaSandbox(
            self._scratch, max_seconds=settings.max_audio_seconds, max_channels=settings.max_channels,
            memory_limit=media_memory_limit(settings), helpers=1)
        self.rows = ExportShapedRows(configuration)
        # Loaded now: a worker whose model cannot load fails at its start, not on every recording.
        self.models.transcriber.get()
        self.models.diarizer.get()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {name: [] for name in RESULT_COLUMNS}
        for path, sha, metadata_json in zip(batch["path"], batch["content_sha256"], batch["metadata_json"],
                                            strict=True):
            recording = Recording(path=str(path), content_sha256=str(sha), metadata=json.loads(str(metadata_json)))
            started = time.monotonic()
            tables, audio_seconds = self.process(recording)
            encoded = tables_to_bytes(tables)
            out["content_sha256"].append(recording.content_sha256)
            out["status"].append(tables["transcriptions"].column("status")[0].as_py())
            out["audio_seconds"].append(audio_seconds)
            out["processing_seconds"].append(time.monotonic() - started)
            for name in ("transcriptions", "segments", "fields"):
                out[name].append(encoded[name])
        return out

    def process(self, recording: Recording) -> tuple[TableSet, float | None]:
        """The recording's rows (COMPLETED or FAILED) and its audio seconds (None when it failed)."""
        try:
            metadata = parse(IngestMetadata, recording.metadata, prefix="metadata")
            detect_audio_format(Path(recording.path))  # what ingest checks first: anything else is a 415
            conversation = run_audio_stage(path=Path(recording.path), configuration=self.configuration,
                                           metadata=metadata, models=self.models, settings=self.settings,
                                           hook=null_hook, decoder=self.decoder, voiceprints=False)
            enrichment = self._enrich(conversation, metadata)
        except Exception as error:  # a recording that fails is a FAILED row, never a lost one
            message, code, _status = describe_error(error)
            return self.rows.failed(recording, message, code), None
        return self.rows.completed(recording, conversation, enrichment), conversation.duration

    def _enrich(self, conversation: ConversationResult, metadata: IngestMetadata) -> EnrichmentResult:
        """The LLM stage as the job runner runs it; PENDING (re-run it after import) without Ollama."""
        if not wants_llm(self.configuration):
            return EnrichmentResult(fields=None, summary=None, status=LlmStatus.NOT_REQUESTED)
        context = LlmContext(
            segments=conversation.segments, language=conversation.language,
            speaker_labels={k: (v.name or v.role or k) for k, v in speakers_of(conversation).items()},
            metadata=metadata.stored())
        try:
            llm = self.models.llm.get()
        except (ImportError, LlmUnavailableError) as exc:
            return EnrichmentResult(fields=None, summary=None, status=LlmStatus.PENDING,
                                    pending_reason=f"The LLM stage could not run on the batch worker: {exc}")
        return enrich(context, self.configuration, extractor=llm, summarizer=llm, hook=null_hook)

    def __del__(self) -> None:  # Ray gives an actor no close hook; its helper process and scratch go here
        close = getattr(getattr(self, "decoder", None), "close", None)
        if callable(close):
            close()
        if hasattr(self, "_scratch"):
            shutil.rmtree(self._scratch, ignore_errors=True)
