"""A recording's outcome as rows of the exports' ``transcriptions``, ``segments`` and ``fields`` tables.

A batch worker has no data directory, yet its output must have exactly the columns (and derived values:
speaker labels, word counts, field values as text and number) of ``exports/*.parquet``. So it writes the
outcome with the store's own methods into a private in-memory DuckDB and reads it back with the
exports' own SELECTs (:data:`heard_local.store.export.EXPORT_TABLES`), then forgets it. Nothing about
the columns is written twice.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from heard_local.domain import Configuration, IngestMetadata, SpeakerInfo
from heard_local.engine.batch_inputs import Recording
from heard_local.pipeline.enrich import EnrichmentResult
from heard_local.pipeline.protocols import ConversationResult
from heard_local.store import NewTranscription, Store
from heard_local.store.export import EXPORT_TABLES

# The tables a batch writes (the snapshot's others, customers and jobs, belong to a data directory).
BATCH_TABLES = ("transcriptions", "segments", "fields")
# Columns a batch adds to the snapshot's transcriptions: what a rerun skips by and import reads.
BATCH_COLUMNS = ("content_sha256", "source_path")

TableSet = dict[str, pa.Table]


def speakers_of(conversation: ConversationResult) -> dict[str, SpeakerInfo]:
    """Each speaker of the conversation with the role the pipeline gave it (as the job runner stores it)."""
    return {speaker: SpeakerInfo(role=conversation.speaker_roles.get(speaker))
            for speaker in dict.fromkeys(s.speaker for s in conversation.segments)}


def _metadata(recording: Recording) -> tuple[IngestMetadata | None, dict[str, Any]]:
    """The recording's metadata as ingest checks it, and as stored (the raw keys when it does not pass)."""
    try:
        metadata = IngestMetadata.model_validate(recording.metadata)
    except ValueError:
        return None, {key: str(value) for key, value in recording.metadata.items()}
    return metadata, metadata.stored()


def _utc_named_utc(table: pa.Table) -> pa.Table:
    """Timestamps labelled "UTC", as DuckDB's own Parquet writer labels the snapshot's (Arrow says "Etc/UTC")."""
    schema = pa.schema([f.with_type(pa.timestamp(f.type.unit, tz="UTC"))
                        if pa.types.is_timestamp(f.type) and f.type.tz else f for f in table.schema])
    return table.cast(schema)


class ExportShapedRows:
    """Turns outcomes into the three tables; one per worker (its in-memory database is reused)."""

    def __init__(self, configuration: Configuration):
        self._store = Store(":memory:")
        self._configuration = configuration
        # The private database has its own default configuration; its id is swapped for the real one.
        self._local_configuration_id = self._store.configurations.ensure_default().configuration_id

    def completed(self, recording: Recording, conversation: ConversationResult,
                  enrichment: EnrichmentResult) -> TableSet:
        field_types = {f.name: f.type.value for f in self._configuration.extraction_fields}

        def save(cur: Any, transcription_id: str) -> None:
            transcriptions = self._store.transcriptions
            transcriptions.save_conversation(
                cur, transcription_id, segments=conversation.segments, language=conversation.language,
                duration=conversation.duration, speakers=speakers_of(conversation),
                warnings=conversation.warnings, words=conversation.words)  # type: ignore[arg-type]
            transcriptions.save_llm_results(
                cur, transcription_id, fields=enrichment.fields, field_types=field_types,
                summary=enrichment.summary, status=enrichment.status, pending_reason=enrichment.pending_reason,
                complete=True)

        return self._rows(recording, save)

    def failed(self, recording: Recording, message: str, code: str) -> TableSet:
        def save(cur: Any, transcription_id: str) -> None:
            self._store.transcriptions.mark_failed(cur, transcription_id, message, code)

        return self._rows(recording, save)

    def _rows(self, recording: Recording, save: Callable[[Any, str], None]) -> TableSet:
        metadata, stored = _metadata(recording)
        transcription_id = str(uuid.uuid4())
        channel = metadata.channel.value if metadata is not None and metadata.channel else "voice"
        with self._store.db.write() as cur:
            self._store.transcriptions.insert_pending_many(cur, [NewTranscription(
                transcription_id=transcription_id, configuration_id=self._local_configuration_id, kind="audio",
                name=(metadata.name if metadata else None) or recording.metadata.get("name"), metadata=stored,
                channel=channel, source=metadata.source if metadata else None, customer_id=None,
                media_path=None, content_sha256=recording.content_sha256,
                recorded_at=metadata.recorded_at if metadata else None)])
            save(cur, transcription_id)
            tables = {name: cur.sql(EXPORT_TABLES[name]).to_arrow_table() for name in BATCH_TABLES}
            self._store.transcriptions.delete(cur, transcription_id)  # the next recording starts empty
        tables = {name: _utc_named_utc(table) for name, table in tables.items()}
        tables["transcriptions"] = self._with_batch_columns(tables["transcriptions"], recording)
        return tables

    def _with_batch_columns(self, table: pa.Table, recording: Recording) -> pa.Table:
        rows = table.num_rows
        for name, value in (("configuration_id", self._configuration.configuration_id),
                            ("configuration_tag", self._configuration.tag)):
            index = table.schema.get_field_index(name)
            table = table.set_column(index, name, pa.array([value] * rows, type=table.schema.field(name).type))
        table = table.append_column("content_sha256", pa.array([recording.content_sha256] * rows, pa.string()))
        return table.append_column("source_path", pa.array([recording.path] * rows, pa.string()))

    def close(self) -> None:
        self._store.close()


def tables_to_bytes(tables: TableSet) -> dict[str, bytes]:
    """Each table as Arrow IPC bytes: how a worker's rows travel back to the driver."""
    encoded = {}
    for name, table in tables.items():
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        encoded[name] = sink.getvalue()
    return encoded


def table_from_bytes(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()
