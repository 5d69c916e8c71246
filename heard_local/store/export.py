"""The SQL behind exports: every table as a Parquet file, and the rows of the fields CSV.

Exported tables are shaped for analysis rather than copied raw: timestamps are UTC-aware, JSON
columns are plain text, and the columns a notebook always wants are already joined in (a segment's
speaker label and duration, a field's value as text and as a number). Secrets never leave: API keys,
webhook secrets and URLs, idempotency records and job payloads are not exported.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from heard_local.domain.clock import from_db
from heard_local.store.database import Database

# File name (without .parquet) -> the SELECT that fills it. Naive DB timestamps are UTC.
EXPORT_TABLES: dict[str, str] = {
    "transcriptions": """
        SELECT t.transcription_id, t.name, t.status, t.configuration_id, c.tag AS configuration_tag, t.kind,
               t.channel, t.source, t.language, t.duration, t.num_speakers, t."group", t.customer_id,
               (SELECT count(*) FROM segments s WHERE s.transcription_id = t.transcription_id) AS segment_count,
               t.summary, t.llm_status, t.llm_pending_reason, t.error_code, t.error_message,
               timezone('UTC', coalesce(t.recorded_at, t.created_at)) AS conversation_at,
               timezone('UTC', t.recorded_at) AS recorded_at, timezone('UTC', t.created_at) AS created_at,
               timezone('UTC', t.started_at) AS started_at, timezone('UTC', t.completed_at) AS completed_at,
               timezone('UTC', t.updated_at) AS updated_at,
               t.speakers::VARCHAR AS speakers, t.warnings::VARCHAR AS warnings, t.metadata::VARCHAR AS metadata
        FROM transcriptions t LEFT JOIN configurations c USING (configuration_id)
        ORDER BY t.created_at, t.transcription_id""",
    "segments": """
        SELECT s.transcription_id, s.idx AS segment_index, s.speaker,
               t.speakers -> s.speaker ->> 'role' AS speaker_role,
               t.speakers -> s.speaker ->> 'name' AS speaker_name,
               coalesce(nullif(t.speakers -> s.speaker ->> 'name', ''),
                        nullif(t.speakers -> s.speaker ->> 'role', ''), s.speaker) AS speaker_label,
               s.text, s.start_s, s.end_s, s.end_s - s.start_s AS duration_s,
               CASE WHEN trim(s.text) = '' THEN 0
                    ELSE len(regexp_split_to_array(trim(s.text), '\\s+')) END AS word_count,
               s.words::VARCHAR AS words
        FROM segments s JOIN transcriptions t USING (transcription_id)
        ORDER BY s.transcription_id, s.idx""",
    "fields": """
        SELECT f.transcription_id, f.position, f.name, f.type,
               CASE WHEN json_type(f.value) IN ('ARRAY', 'OBJECT') THEN f.value::VARCHAR
                    ELSE f.value ->> '$' END AS value_text,
               CASE WHEN json_type(f.value) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
                    THEN TRY_CAST(f.value ->> '$' AS DOUBLE) END AS value_number,
               CASE WHEN json_type(f.value) = 'BOOLEAN' THEN (f.value ->> '$') = 'true' END AS value_boolean,
               f.value::VARCHAR AS value_json, f.evidence::VARCHAR AS evidence
        FROM extracted_fields f
        ORDER BY f.transcription_id, f.position""",
    "customers": """
        SELECT c.customer_id, c.name,
               coalesce((SELECT list(value ORDER BY created_at) FROM customer_identifiers i
                          WHERE i.customer_id = c.customer_id AND kind = 'phone'), []::VARCHAR[]) AS phones,
               coalesce((SELECT list(value ORDER BY created_at) FROM customer_identifiers i
                          WHERE i.customer_id = c.customer_id AND kind = 'email'), []::VARCHAR[]) AS emails,
               (SELECT count(*) FROM transcriptions t WHERE t.customer_id = c.customer_id) AS conversation_count,
               (SELECT sum(duration) FROM transcriptions t WHERE t.customer_id = c.customer_id) AS total_duration,
               (SELECT timezone('UTC', min(coalesce(t.recorded_at, t.created_at))) FROM transcriptions t
                 WHERE t.customer_id = c.customer_id) AS first_seen_at,
               (SELECT timezone('UTC', max(coalesce(t.recorded_at, t.created_at))) FROM transcriptions t
                 WHERE t.customer_id = c.customer_id) AS last_seen_at,
               timezone('UTC', c.created_at) AS created_at
        FROM customers c
        ORDER BY c.created_at, c.customer_id""",
    "customer_identifiers": """
        SELECT customer_id, kind, value, timezone('UTC', created_at) AS created_at
        FROM customer_identifiers
        ORDER BY customer_id, kind, value""",
    "configurations": """
        SELECT configuration_id, tag, is_default, summary, summary_language, analytics_language,
               vocabulary::VARCHAR AS vocabulary, extraction_fields::VARCHAR AS extraction_fields,
               timezone('UTC', created_at) AS created_at, timezone('UTC', updated_at) AS updated_at
        FROM configurations
        ORDER BY created_at, configuration_id""",
    "jobs": """
        SELECT job_id, kind, status, transcription_id, configuration_id, attempts, max_attempts,
               last_error, error_code, progress_step, estimated_duration_seconds,
               epoch(finished_at - started_at) AS processing_seconds,
               timezone('UTC', created_at) AS created_at, timezone('UTC', started_at) AS started_at,
               timezone('UTC', finished_at) AS finished_at
        FROM jobs
        ORDER BY created_at, job_id""",
}

# The stored tables the exports read; a change to any of them changes the fingerprint.
_SOURCE_TABLES = ("transcriptions", "segments", "extracted_fields", "customers", "customer_identifiers",
                  "configurations", "jobs")
_TEMP_SUFFIX = ".parquet.tmp"


def _sql_string(value: str) -> str:
    """A SQL string literal (COPY cannot take its file name as a parameter)."""
    return "'" + value.replace("'", "''") + "'"


def fingerprint(db: Database) -> str:
    """A value that changes whenever any exported row changes (row count + sum of row hashes)."""
    return _fingerprint(db.cursor())


def _fingerprint(cur: Any) -> str:
    parts = [
        cur.execute(f"SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0) FROM {table} x").fetchone()
        for table in _SOURCE_TABLES
    ]
    return ";".join(f"{table}:{count}:{total}" for table, (count, total) in zip(_SOURCE_TABLES, parts, strict=True))


def remove_stale_temp_files(directory: Path) -> None:
    """Temp files a killed export left behind."""
    for leftover in directory.glob(f".*{_TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def write_tables(db: Database, directory: Path) -> tuple[str, dict[str, int]]:
    """Write every table of :data:`EXPORT_TABLES` to ``directory/<name>.parquet``.

    All files are read in one transaction (a consistent snapshot), written to hidden temp files, and
    only then renamed over the old ones, so a reader never sees a half-written file. Returns the
    snapshot's fingerprint and each table's row count.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cur = db.cursor()
    token = uuid.uuid4().hex[:12]
    written: dict[str, Path] = {}
    counts: dict[str, int] = {}
    cur.execute("BEGIN TRANSACTION")
    try:
        snapshot = _fingerprint(cur)
        for name, select in EXPORT_TABLES.items():
            temp = directory / f".{name}.{token}{_TEMP_SUFFIX}"
            written[name] = temp
            row = cur.execute(f"COPY ({select}) TO {_sql_string(str(temp))} "
                              "(FORMAT parquet, COMPRESSION zstd)").fetchone()
            counts[name] = int(row[0]) if row else 0
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        for temp in written.values():
            temp.unlink(missing_ok=True)
        raise
    for name, temp in written.items():
        os.replace(temp, directory / f"{name}.parquet")
    return snapshot, counts


# --- the fields CSV --------------------------------------------------------------------------------


@dataclass
class FieldRecord:
    """One completed conversation with the values extracted from it (in the configuration's order)."""

    transcription_id: str
    name: str | None
    configuration_id: str
    configuration_tag: str | None
    conversation_at: datetime | None
    customer_id: str | None
    language: str | None
    duration: float | None
    llm_status: str
    values: dict[str, Any] = field(default_factory=dict)
    types: dict[str, str | None] = field(default_factory=dict)
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class FieldExport:
    """The rows of a fields export and its field columns (configured fields first, in their order)."""

    columns: list[str]
    records: list[FieldRecord]


def field_export(db: Database, configuration_id: str | None = None) -> FieldExport:
    """Every COMPLETED transcription (of one configuration, or all) with its extracted fields."""
    where, params = "WHERE t.status = 'COMPLETED'", []
    if configuration_id is not None:
        where += " AND t.configuration_id = ?"
        params.append(configuration_id)
    rows = db.fetchall(
        f"""SELECT t.transcription_id, t.name, t.configuration_id, c.tag, coalesce(t.recorded_at, t.created_at),
                   t.customer_id, t.language, t.duration, t.llm_status, f.name, f.type, f.value, f.evidence
            FROM transcriptions t
            LEFT JOIN configurations c USING (configuration_id)
            LEFT JOIN extracted_fields f USING (transcription_id)
            {where}
            ORDER BY coalesce(t.recorded_at, t.created_at), t.transcription_id, f.position""",
        params,
    )
    records: dict[str, FieldRecord] = {}
    seen_columns: list[str] = []
    for (tid, name, conf_id, tag, at, customer, language, duration, llm_status, field_name, field_type, value,
         evidence) in rows:
        record = records.get(tid)
        if record is None:
            record = records[tid] = FieldRecord(
                transcription_id=tid, name=name, configuration_id=conf_id, configuration_tag=tag,
                conversation_at=from_db(at), customer_id=customer, language=language, duration=duration,
                llm_status=llm_status)
        if field_name is not None:
            record.values[field_name] = None if value is None else json.loads(value)
            record.types[field_name] = field_type
            record.evidence[field_name] = [] if evidence is None else json.loads(evidence)
            if field_name not in seen_columns:
                seen_columns.append(field_name)
    configuration_ids = list(dict.fromkeys(r.configuration_id for r in records.values()))
    if configuration_id is not None:
        configuration_ids = [configuration_id]
    configured = _configured_field_names(db, configuration_ids)
    columns = configured + [name for name in seen_columns if name not in configured]
    return FieldExport(columns=columns, records=list(records.values()))


def _configured_field_names(db: Database, configuration_ids: list[str]) -> list[str]:
    """The extraction fields of these configurations, in their configured order."""
    names: list[str] = []
    for configuration_id in configuration_ids:
        row = db.fetchone("SELECT extraction_fields FROM configurations WHERE configuration_id = ?",
                          [configuration_id])
        for item in json.loads(row[0] or "[]") if row else []:
            if item.get("name") and item["name"] not in names:
                names.append(item["name"])
    return names
