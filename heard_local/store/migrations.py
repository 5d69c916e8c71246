"""Versioned schema migrations. Append new versions at the end; never edit an applied one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import duckdb

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
CREATE TABLE api_keys (
    key_id       VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    prefix       VARCHAR NOT NULL,
    key_hash     VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    last_used_at TIMESTAMP
);

CREATE TABLE configurations (
    configuration_id   VARCHAR PRIMARY KEY,
    client_id          VARCHAR NOT NULL,
    tag                VARCHAR NOT NULL,
    vocabulary         JSON NOT NULL,
    extraction_fields  JSON NOT NULL,
    webhooks           JSON,
    webhook_secret     VARCHAR,
    summary            BOOLEAN NOT NULL,
    summary_language   VARCHAR NOT NULL,
    analytics_language VARCHAR NOT NULL,
    is_default         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP
);

CREATE TABLE customers (
    customer_id VARCHAR PRIMARY KEY,
    name        VARCHAR,
    created_at  TIMESTAMP NOT NULL
);

-- One row per identifier (a normalised phone or a lower-cased email) -> the customer it belongs to.
CREATE TABLE customer_identifiers (
    kind        VARCHAR NOT NULL,
    value       VARCHAR NOT NULL,
    customer_id VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE transcriptions (
    transcription_id   VARCHAR PRIMARY KEY,
    configuration_id   VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,          -- audio | transcript
    status             VARCHAR NOT NULL,          -- PENDING | IN_PROGRESS | COMPLETED | FAILED
    name               VARCHAR,
    "group"            VARCHAR,
    duration           DOUBLE,
    language           VARCHAR,
    num_speakers       INTEGER,
    channel            VARCHAR,
    source             VARCHAR,
    metadata           JSON,
    customer_id        VARCHAR,
    media_path         VARCHAR,
    content_sha256     VARCHAR,
    speakers           JSON,                      -- {"SPEAKER_00": {"role": "Agent", "name": null}}
    warnings           JSON,
    summary            VARCHAR,
    llm_status         VARCHAR NOT NULL DEFAULT 'not_requested',
    llm_pending_reason VARCHAR,
    error_message      VARCHAR,
    error_code         VARCHAR,
    recorded_at        TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    started_at         TIMESTAMP,
    completed_at       TIMESTAMP,
    updated_at         TIMESTAMP
);

CREATE TABLE segments (
    transcription_id VARCHAR NOT NULL,
    idx              INTEGER NOT NULL,
    speaker          VARCHAR NOT NULL,
    text             VARCHAR NOT NULL,
    start_s          DOUBLE,
    end_s            DOUBLE,
    words            JSON
);

CREATE TABLE extracted_fields (
    transcription_id VARCHAR NOT NULL,
    position         INTEGER NOT NULL,
    name             VARCHAR NOT NULL,
    type             VARCHAR,
    value            JSON,
    evidence         JSON
);

CREATE TABLE jobs (
    job_id                     VARCHAR PRIMARY KEY,
    kind                       VARCHAR NOT NULL,
    status                     VARCHAR NOT NULL,
    transcription_id           VARCHAR NOT NULL,
    configuration_id           VARCHAR NOT NULL,
    dedup_key                  VARCHAR,
    content_sha256             VARCHAR,
    payload                    JSON,
    attempts                   INTEGER NOT NULL DEFAULT 0,
    max_attempts               INTEGER NOT NULL,
    run_after                  TIMESTAMP NOT NULL,
    last_error                 VARCHAR,
    error_code                 VARCHAR,
    progress_step              VARCHAR,
    progress_completed         DOUBLE,
    progress_total             DOUBLE,
    estimated_duration_seconds DOUBLE,
    created_at                 TIMESTAMP NOT NULL,
    started_at                 TIMESTAMP,
    finished_at                TIMESTAMP
);

CREATE TABLE webhook_outbox (
    delivery_id      VARCHAR PRIMARY KEY,
    transcription_id VARCHAR NOT NULL,
    configuration_id VARCHAR NOT NULL,
    event            VARCHAR NOT NULL,            -- success | error
    url              VARCHAR NOT NULL,
    payload          JSON NOT NULL,
    status           VARCHAR NOT NULL,            -- PENDING | DELIVERED | FAILED
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    last_error       VARCHAR,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);

CREATE TABLE idempotency_keys (
    scope           VARCHAR PRIMARY KEY,          -- api key id + ':' + Idempotency-Key
    request_hash    VARCHAR NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   JSON NOT NULL,
    created_at      TIMESTAMP NOT NULL
);

-- Measured real-time factors per model, for estimated_duration_seconds.
CREATE TABLE model_speed (
    model       VARCHAR PRIMARY KEY,
    audio_s     DOUBLE NOT NULL,
    wall_s      DOUBLE NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE INDEX segments_transcription ON segments (transcription_id);
CREATE INDEX fields_transcription ON extracted_fields (transcription_id);
CREATE INDEX jobs_dedup ON jobs (dedup_key);
CREATE INDEX transcriptions_customer ON transcriptions (customer_id);
"""),
    (2, "voiceprints and voice profiles", """
-- Biometric data: never exported, never in a webhook; deleted with its transcription.
CREATE TABLE speaker_voiceprints (
    transcription_id VARCHAR NOT NULL,
    speaker          VARCHAR NOT NULL,
    embedding        FLOAT[256] NOT NULL,         -- L2-normalised speaker-encoder vector
    speech_seconds   DOUBLE NOT NULL,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE voice_profiles (
    voice_id                VARCHAR PRIMARY KEY,
    name                    VARCHAR NOT NULL,
    role                    VARCHAR,
    embedding               FLOAT[256] NOT NULL,  -- the mean of the voiceprints remembered under the name
    samples                 INTEGER NOT NULL,
    speech_seconds          DOUBLE NOT NULL,
    source_transcription_id VARCHAR,
    source_speaker          VARCHAR,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP
);

CREATE INDEX voiceprints_transcription ON speaker_voiceprints (transcription_id);
"""),
    (3, "segment edits (undoable corrections), redacted spans, configuration extras", """
-- One row per correction of a transcript, in order; ``before`` holds the segments as they were, so the
-- last edit can be undone and the first one's ``before`` is the recogniser's original output.
CREATE TABLE segment_edits (
    transcription_id VARCHAR NOT NULL,
    seq              INTEGER NOT NULL,
    kind             VARCHAR NOT NULL,            -- edit | merge | split
    segment_index    INTEGER NOT NULL,
    change           JSON,
    "before"         JSON NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX segment_edits_transcription ON segment_edits (transcription_id);

-- Spans taken out of a transcript (and its recording, with redact_audio) by the configuration's redact.
CREATE TABLE redactions (
    transcription_id VARCHAR NOT NULL,
    position         INTEGER NOT NULL,
    kind             VARCHAR NOT NULL,            -- card | phone | email | ssn | iban | person
    segment_index    INTEGER NOT NULL,
    char_start       INTEGER NOT NULL,            -- offsets of the tag in the stored segment text
    char_end         INTEGER NOT NULL,
    start_s          DOUBLE,
    end_s            DOUBLE
);
CREATE INDEX redactions_transcription ON redactions (transcription_id);

-- Configuration attributes beyond the documented ones (summary_instructions, redact…), as one object.
ALTER TABLE configurations ADD COLUMN extras JSON;
"""),
]


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, "
        "applied_at TIMESTAMP)"
    )
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the database's version, each in its own transaction."""
    version = current_version(conn)
    latest = MIGRATIONS[-1][0]
    if version > latest:
        raise RuntimeError(
            f"This data directory was written by a newer heard-local (schema {version} > {latest}). "
            "Upgrade heard-local to open it."
        )
    for number, description, sql in MIGRATIONS:
        if number <= version:
            continue
        log.info("applying schema migration %d: %s", number, description)
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [number, description, datetime.now(UTC).replace(tzinfo=None)],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = number
    return version
