"""Transcriptions, their segments and their extracted fields."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from heard_local.domain import (
    Conversation,
    Details,
    Fields,
    FieldValue,
    LlmStatus,
    Segment,
    SpeakerInfo,
    Summary,
    Transcription,
    TranscriptionError,
    TranscriptionGroup,
    TranscriptionStatus,
)
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.domain.listing import Page, TranscriptionFilter
from heard_local.errors import HTTP_STATUS_BY_CODE, NotFoundError, ValidationError
from heard_local.store.database import Database
from heard_local.store.rows import dumps, insert_rows, loads
from heard_local.store.speakers import read_speakers, write_speakers
from heard_local.store.voices import VoiceRepo

_SELECT = """
SELECT t.transcription_id, t.status, t.configuration_id, c.tag, t.name, t."group", t.duration,
       t.language, t.num_speakers, t.created_at, t.started_at, t.completed_at, t.speakers, t.warnings,
       t.summary, t.llm_status, t.llm_pending_reason, t.error_message, t.error_code, t.customer_id,
       t.metadata, t.kind, t.channel, t.source, t.media_path
FROM transcriptions t LEFT JOIN configurations c USING (configuration_id)
"""


@dataclass
class NewTranscription:
    transcription_id: str
    configuration_id: str
    kind: str
    name: str | None
    metadata: dict[str, Any]
    channel: str | None
    source: str | None
    customer_id: str | None
    media_path: str | None
    content_sha256: str | None
    recorded_at: datetime | None


class TranscriptionRepo:
    def __init__(self, db: Database):
        self.db = db

    # --- writes -----------------------------------------------------------------------------------

    def insert_pending(self, cur: duckdb.DuckDBPyConnection, new: NewTranscription) -> None:
        self.insert_pending_many(cur, [new])

    def insert_pending_many(self, cur: duckdb.DuckDBPyConnection, rows: Sequence[NewTranscription]) -> None:
        now = to_db(utcnow())
        insert_rows(cur, "transcriptions", [
            "transcription_id", "configuration_id", "kind", "status", "name", "metadata", "channel", "source",
            "customer_id", "media_path", "content_sha256", "recorded_at", "created_at", "updated_at"], [
            (new.transcription_id, new.configuration_id, new.kind, "PENDING", new.name, dumps(new.metadata),
             new.channel, new.source, new.customer_id, new.media_path, new.content_sha256, to_db(new.recorded_at),
             now, now)
            for new in rows
        ])

    def save_conversation(self, cur: duckdb.DuckDBPyConnection, transcription_id: str, *,
                          segments: list[Segment], language: str | None, duration: float | None,
                          speakers: dict[str, SpeakerInfo], warnings: list[str],
                          words: list[list[dict[str, Any]] | None] | None = None) -> None:
        cur.execute("DELETE FROM segments WHERE transcription_id = ?", [transcription_id])
        insert_rows(cur, "segments", ["transcription_id", "idx", "speaker", "text", "start_s", "end_s", "words"], [
            (transcription_id, i, s.speaker, s.text, s.start, s.end,
             dumps(words[i]) if words and i < len(words) else None)
            for i, s in enumerate(segments)
        ])
        cur.execute(
            "UPDATE transcriptions SET language = ?, duration = ?, num_speakers = ?, speakers = ?, warnings = ?, "
            "updated_at = ? WHERE transcription_id = ?",
            [language, duration, len({s.speaker for s in segments}),
             dumps({k: v.model_dump() for k, v in speakers.items()}), dumps(warnings), to_db(utcnow()),
             transcription_id],
        )

    def save_llm_results(self, cur: duckdb.DuckDBPyConnection, transcription_id: str, *,
                         fields: Fields | None, field_types: dict[str, str], summary: Summary | None,
                         status: LlmStatus, pending_reason: str | None, complete: bool = False) -> None:
        """Store the LLM stage's results; ``complete=True`` also marks the transcription COMPLETED."""
        if fields is not None:
            cur.execute("DELETE FROM extracted_fields WHERE transcription_id = ?", [transcription_id])
            insert_rows(cur, "extracted_fields",
                        ["transcription_id", "position", "name", "type", "value", "evidence"], [
                (transcription_id, i, f.name, field_types.get(f.name), dumps(f.value),
                 dumps([e.model_dump() for e in f.evidence]))
                for i, f in enumerate(fields.fields)
            ])
        # One UPDATE for everything: DuckDB finds the row by scanning, so each statement costs.
        completed = (", status = 'COMPLETED', completed_at = ?, error_message = NULL, error_code = NULL"
                     if complete else "")
        now = to_db(utcnow())
        cur.execute(
            "UPDATE transcriptions SET llm_status = ?, llm_pending_reason = ?, updated_at = ?, "
            f"summary = CASE WHEN ? THEN ? ELSE summary END{completed} WHERE transcription_id = ?",
            [status.value, pending_reason, now, summary is not None, summary.summary if summary else None,
             *([now] if complete else []), transcription_id],
        )

    def mark_failed(self, cur: duckdb.DuckDBPyConnection, transcription_id: str, message: str,
                    code: str) -> None:
        now = to_db(utcnow())
        cur.execute(
            "UPDATE transcriptions SET status = 'FAILED', error_message = ?, error_code = ?, completed_at = ?, "
            "updated_at = ? WHERE transcription_id = ?",
            [message, code, now, now, transcription_id],
        )

    def mark_llm_pending(self, cur: duckdb.DuckDBPyConnection, transcription_id: str, reason: str) -> None:
        cur.execute("UPDATE transcriptions SET llm_status = 'pending', llm_pending_reason = ?, updated_at = ? "
                    "WHERE transcription_id = ?", [reason, to_db(utcnow()), transcription_id])

    def set_group(self, transcription_id: str, group: TranscriptionGroup | None) -> None:
        with self.db.write() as cur:
            self._require(transcription_id)
            cur.execute('UPDATE transcriptions SET "group" = ?, updated_at = ? WHERE transcription_id = ?',
                        [group.value if group else None, to_db(utcnow()), transcription_id])

    def set_name(self, transcription_id: str, name: str | None) -> None:
        with self.db.write() as cur:
            self._require(transcription_id)
            cur.execute("UPDATE transcriptions SET name = ?, updated_at = ? WHERE transcription_id = ?",
                        [name, to_db(utcnow()), transcription_id])

    def rename_speaker(self, transcription_id: str, speaker: str, name: str | None) -> None:
        with self.db.write() as cur:
            speakers = read_speakers(cur, transcription_id)
            known = {r[0] for r in cur.execute(
                "SELECT DISTINCT speaker FROM segments WHERE transcription_id = ?", [transcription_id]
            ).fetchall()}
            if speaker not in known and speaker not in speakers:
                raise ValidationError(f"Speaker {speaker} does not occur in this transcription",
                                      field="speaker")
            info = speakers.get(speaker, {})
            info["name"] = name.strip() if name and name.strip() else None
            speakers[speaker] = info
            write_speakers(cur, transcription_id, speakers)

    def delete(self, cur: duckdb.DuckDBPyConnection, transcription_id: str) -> str | None:
        """Delete a transcription and everything hanging off it; returns its media path (for the caller
        to remove once the transaction commits)."""
        row = cur.execute("SELECT media_path FROM transcriptions WHERE transcription_id = ?",
                          [transcription_id]).fetchone()
        if row is None:
            raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")
        for table in ("segments", "segment_edits", "redactions", "extracted_fields", "jobs", "webhook_outbox"):
            cur.execute(f"DELETE FROM {table} WHERE transcription_id = ?", [transcription_id])
        cur.execute("DELETE FROM transcriptions WHERE transcription_id = ?", [transcription_id])
        VoiceRepo(self.db).forget_source(cur, transcription_id)  # voiceprints are deleted with it
        return row[0]

    # --- reads ------------------------------------------------------------------------------------

    def _require(self, transcription_id: str) -> None:
        if self.db.fetchone("SELECT 1 FROM transcriptions WHERE transcription_id = ?",
                            [transcription_id]) is None:
            raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")

    def exists(self, transcription_id: str) -> bool:
        return self.db.fetchone("SELECT 1 FROM transcriptions WHERE transcription_id = ?",
                                [transcription_id]) is not None

    def media_in_use(self, cur: duckdb.DuckDBPyConnection, media_path: str) -> bool:
        row = cur.execute("SELECT count(*) FROM transcriptions WHERE media_path = ?", [media_path]).fetchone()
        return bool(row and row[0])

    def metadata(self, transcription_id: str) -> dict[str, Any]:
        """The submission's metadata as stored with the conversation (its only copy)."""
        row = self.db.fetchone("SELECT metadata FROM transcriptions WHERE transcription_id = ?", [transcription_id])
        if row is None:
            raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")
        return dict(loads(row[0], {}))

    def language_of(self, transcription_id: str) -> str | None:
        row = self.db.fetchone("SELECT language FROM transcriptions WHERE transcription_id = ?", [transcription_id])
        return row[0] if row else None

    def completed_ids(self, configuration_id: str) -> list[str]:
        rows = self.db.fetchall("SELECT transcription_id FROM transcriptions WHERE configuration_id = ? AND "
                                "status = 'COMPLETED' ORDER BY created_at", [configuration_id])
        return [r[0] for r in rows]

    def media_path(self, transcription_id: str) -> str | None:
        row = self.db.fetchone("SELECT media_path FROM transcriptions WHERE transcription_id = ?",
                               [transcription_id])
        if row is None:
            raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")
        return row[0]

    def segments(self, transcription_id: str) -> list[Segment]:
        rows = self.db.fetchall(
            "SELECT text, speaker, start_s, end_s, words FROM segments WHERE transcription_id = ? ORDER BY idx",
            [transcription_id],
        )
        return [Segment(text=r[0], speaker=r[1], start=r[2], end=r[3], words=loads(r[4])) for r in rows]

    def words(self, transcription_id: str) -> list[list[dict[str, Any]] | None]:
        rows = self.db.fetchall("SELECT words FROM segments WHERE transcription_id = ? ORDER BY idx",
                                [transcription_id])
        return [loads(r[0]) for r in rows]

    def fields(self, transcription_id: str) -> Fields | None:
        rows = self.db.fetchall(
            "SELECT name, value, evidence FROM extracted_fields WHERE transcription_id = ? ORDER BY position",
            [transcription_id],
        )
        if not rows:
            return None
        return Fields(fields=[FieldValue(name=r[0], value=loads(r[1]), evidence=loads(r[2], [])) for r in rows])

    def get(self, transcription_id: str) -> Transcription:
        row = self.db.fetchone(_SELECT + " WHERE t.transcription_id = ?", [transcription_id])
        if row is None:
            raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")
        return self._build(row, with_conversation=True)

    def _build(self, row: tuple[Any, ...], *, with_conversation: bool) -> Transcription:
        (tid, status, configuration_id, tag, name, group, duration, language, num_speakers, created_at,
         started_at, completed_at, speakers, warnings, summary, llm_status, llm_reason, error_message,
         error_code, customer_id, metadata, _kind, _channel, _source, _media) = row
        status = TranscriptionStatus(status)
        details = None
        if status is TranscriptionStatus.COMPLETED:
            details = Details(
                language=language,
                num_speakers=num_speakers or 0,
                created_at=from_db(started_at) or from_db(created_at),
                completed_at=from_db(completed_at),
                conversation=Conversation(segments=self.segments(tid) if with_conversation else []),
                summary=Summary(summary=summary) if summary is not None else None,
                fields=self.fields(tid) if with_conversation else None,
                speakers={k: SpeakerInfo(**v) for k, v in loads(speakers, {}).items()},
                warnings=loads(warnings, []),
                llm_status=LlmStatus(llm_status),
                llm_pending_reason=llm_reason,
            )
        error = None
        if status is TranscriptionStatus.FAILED:
            error = TranscriptionError(message=error_message or "Processing failed",
                                       code=HTTP_STATUS_BY_CODE.get(error_code or "", 500), type=error_code)
        return Transcription(
            transcription_id=tid,
            status=status,
            configuration_id=configuration_id,
            configuration_tag=tag,
            name=name,
            group=TranscriptionGroup(group) if group else None,
            duration=duration,
            details=details,
            error=error,
            created_at=from_db(created_at),
            customer_id=customer_id,
            metadata=loads(metadata, {}),
        )

    def list(self, flt: TranscriptionFilter, *, limit: int = 50, offset: int = 0) -> Page:
        where, params = self._where(flt)
        total_row = self.db.fetchone(f"SELECT count(*) FROM transcriptions t {where}", params)
        rows = self.db.fetch_dicts(
            f"""SELECT t.transcription_id, t.status, t.configuration_id, c.tag AS configuration_tag, t.name,
                       t."group", t.duration, t.language, t.num_speakers, t.channel, t.source, t.customer_id,
                       t.created_at, t.completed_at, t.kind, t.llm_status, t.error_message
                FROM transcriptions t LEFT JOIN configurations c USING (configuration_id)
                {where} ORDER BY t.created_at DESC, t.transcription_id LIMIT ? OFFSET ?""",
            [*params, limit, offset],
        )
        for item in rows:
            for key in ("created_at", "completed_at"):
                value = from_db(item[key])
                item[key] = value.isoformat() if value else None
        return Page(items=rows, total=total_row[0] if total_row else 0, limit=limit, offset=offset)

    def _where(self, flt: TranscriptionFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        simple = {
            "t.configuration_id": flt.configuration_id,
            "t.status": flt.status.value if flt.status else None,
            't."group"': flt.group.value if flt.group else None,
            "t.language": flt.language,
            "t.customer_id": flt.customer_id,
            "t.channel": flt.channel,
        }
        for column, value in simple.items():
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if flt.created_from is not None:
            clauses.append("t.created_at >= ?")
            params.append(to_db(flt.created_from))
        if flt.created_to is not None:
            clauses.append("t.created_at < ?")
            params.append(to_db(flt.created_to))
        if flt.search:
            clauses.append(
                "(t.name ILIKE ? ESCAPE '\\' OR t.transcription_id IN "
                "(SELECT transcription_id FROM segments WHERE text ILIKE ? ESCAPE '\\'))"
            )
            pattern = "%" + flt.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params
