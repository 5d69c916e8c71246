"""``heard-local import DIR``: a batch job's output into a data directory, as if ingested here.

Each recording goes through the engine's ingest path (:func:`write_ingest_batch`): its customer is
found or created from the metadata's phone and email, and a recording whose content this configuration
already holds is a duplicate and skipped. It arrives already processed: in the same transaction its
conversation, fields and summary are stored with the store's own methods and its job is COMPLETED (or
FAILED, with the worker's error), so no worker ever runs it again. The recording's file, when this
machine can read it at its batch path, is kept under the data directory as an ingested one is.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard_local.domain import (
    Configuration,
    Evidence,
    Fields,
    FieldValue,
    IngestMetadata,
    JobKind,
    LlmStatus,
    Segment,
    SpeakerInfo,
    Summary,
)
from heard_local.domain.job import BatchImportPayload
from heard_local.engine.batch_output import BatchOutput
from heard_local.engine.media import store_media
from heard_local.errors import HeardError, NotFoundError, ValidationError
from heard_local.pipeline.audio_format import detect_audio_format
from heard_local.store.customers import IdentityClaim
from heard_local.store.ingests import PreparedIngest, write_ingest_batch

if TYPE_CHECKING:
    from heard_local.engine.engine import Engine

log = logging.getLogger(__name__)

# Recordings written per transaction.
_CHUNK = 200


@dataclass
class ImportReport:
    imported: int = 0  # new transcriptions (COMPLETED or FAILED)
    failed: int = 0  # of which FAILED in the batch
    duplicates: int = 0  # skipped: already in this data directory
    transcription_ids: list[str] = field(default_factory=list)


def _rows_by_transcription(output: BatchOutput, table: str) -> dict[str, list[dict[str, Any]]]:
    rows = output.read(table)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.to_pylist() if rows is not None else []:
        grouped[row["transcription_id"]].append(row)
    return grouped


class _Importer:
    def __init__(self, engine: Engine, configuration: str | None):
        self.engine = engine
        self.settings = engine.settings
        self.override = engine.configurations.resolve(configuration) if configuration else None
        self._configurations: dict[tuple[str | None, str | None], Configuration] = {}

    def configuration_for(self, row: dict[str, Any]) -> Configuration:
        """The batch's configuration here: by id (the batch ran from this data directory), else by tag."""
        if self.override is not None:
            return self.override
        key = (row.get("configuration_id"), row.get("configuration_tag"))
        if key not in self._configurations:
            for candidate in key:
                if not candidate:
                    continue
                try:
                    self._configurations[key] = self.engine.configurations.resolve(candidate)
                    break
                except NotFoundError:
                    continue
            else:
                raise ValidationError(
                    f"This data directory has no configuration with the batch's id {key[0]!r} or tag {key[1]!r}; "
                    "create it, or name one with --configuration", field="configuration")
        return self._configurations[key]

    def prepare(self, row: dict[str, Any]) -> PreparedIngest:
        """The ingest of one batch row, as the engine prepares an audio file's (identities normalised)."""
        configuration = self.configuration_for(row)
        try:
            metadata = IngestMetadata.model_validate(json.loads(row.get("metadata") or "{}"))
        except ValueError:
            metadata = IngestMetadata(name=row.get("name"))
        stored, phone, email = metadata.identified(self.settings.default_phone_region)
        sha = row["content_sha256"]
        media = self._keep_media(Path(row["source_path"]), sha) if row["status"] == "COMPLETED" else None
        return PreparedIngest(
            kind=JobKind.AUDIO, configuration_id=configuration.configuration_id,
            dedup_key=f"{sha}:{configuration.configuration_id}", sha256=sha,
            transcription_id=row["transcription_id"], job_id="job_" + uuid.uuid4().hex,
            identity=IdentityClaim(phone=phone, email=email, name=metadata.customer_name),
            name=row.get("name"), metadata=stored,
            payload=BatchImportPayload(imported_from=row["source_path"], media_path=media),
            channel=row.get("channel") or "voice", source=metadata.source, media_path=media,
            recorded_at=metadata.recorded_at, max_attempts=self.settings.job_max_attempts, estimate=0.0)

    def _keep_media(self, source: Path, sha: str) -> str | None:
        """The recording stored by content hash, when this machine can read it (else no playback)."""
        try:
            return str(store_media(source, self.settings.media_dir, sha, detect_audio_format(source), move=False))
        except (OSError, HeardError) as exc:
            log.info("%s is not readable here (%s); imported without its audio", source, exc)
            return None


def _save(engine: Engine, cur: Any, item: PreparedIngest, row: dict[str, Any],
          segments: list[dict[str, Any]], fields: list[dict[str, Any]], configuration: Configuration) -> None:
    """The batch's outcome onto the just-written transcription and job, in the ingest's transaction."""
    store = engine._store  # the import writes in the ingest's own transaction (same layer)
    if row["status"] != "COMPLETED":
        message, code = row.get("error_message") or "Failed in the batch job", row.get("error_code") or "INTERNAL_ERROR"
        store.transcriptions.mark_failed(cur, item.transcription_id, message, code)
        store.jobs.mark_failed(cur, item.job_id, message, code)
        return
    segments = sorted(segments, key=lambda s: s["segment_index"])
    speakers = {k: SpeakerInfo.model_validate(v) for k, v in json.loads(row.get("speakers") or "{}").items()}
    store.transcriptions.save_conversation(
        cur, item.transcription_id,
        segments=[Segment(speaker=s["speaker"], text=s["text"], start=s["start_s"], end=s["end_s"]) for s in segments],
        language=row.get("language"), duration=row.get("duration"), speakers=speakers,
        warnings=json.loads(row.get("warnings") or "[]"),
        words=[json.loads(s["words"]) if s.get("words") else None for s in segments])
    ordered = sorted(fields, key=lambda f: f["position"])
    stored_fields = Fields(fields=[
        FieldValue(name=f["name"], value=json.loads(f["value_json"]) if f.get("value_json") else None,
                   evidence=[Evidence.model_validate(e) for e in json.loads(f.get("evidence") or "[]")])
        for f in ordered]) if ordered else None
    store.transcriptions.save_llm_results(
        cur, item.transcription_id, fields=stored_fields,
        field_types={f["name"]: f["type"] for f in ordered if f.get("type")} or
        {f.name: f.type.value for f in configuration.extraction_fields},
        summary=Summary(summary=row["summary"]) if row.get("summary") else None,
        status=LlmStatus(row.get("llm_status") or LlmStatus.NOT_REQUESTED.value),
        pending_reason=row.get("llm_pending_reason"), complete=True)
    store.jobs.mark_completed(cur, item.job_id)


def import_batch_output(engine: Engine, directory: Path, *, configuration: str | None = None) -> ImportReport:
    """Load the batch output in ``directory``; returns what was imported and what was already here."""
    output = BatchOutput(directory)
    transcriptions = output.read("transcriptions")
    if transcriptions is None:
        raise ValidationError(f"{directory} holds no batch output (no transcriptions/*.parquet)", field="directory")
    segments = _rows_by_transcription(output, "segments")
    fields = _rows_by_transcription(output, "fields")
    importer = _Importer(engine, configuration)
    report = ImportReport()
    rows = [r for r in transcriptions.to_pylist() if not engine._store.transcriptions.exists(r["transcription_id"])]
    report.duplicates = transcriptions.num_rows - len(rows)  # imported before
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        prepared = [importer.prepare(row) for row in chunk]
        store = engine._store
        with store.db.write() as cur:
            outcomes = write_ingest_batch(store.jobs, store.transcriptions, store.customers, cur, prepared)
            for item, row, outcome in zip(prepared, chunk, outcomes, strict=True):
                if outcome.duplicate:
                    report.duplicates += 1
                    continue
                tid = item.transcription_id
                _save(engine, cur, item, row, segments.get(tid, []), fields.get(tid, []),
                      importer.configuration_for(row))
                report.imported += 1
                report.failed += row["status"] != "COMPLETED"
                report.transcription_ids.append(tid)
    return report
