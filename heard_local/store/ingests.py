"""Turning accepted submissions into stored transcriptions and queued jobs, many at a time.

Everything that needs no database (ids, normalised identifiers, JSON) is prepared by the caller's own
thread; the group commit then writes a whole batch with one statement per table (see
store/group_commit.py). Within a batch, the second of two identical submissions is a duplicate of the
first, exactly as if they had arrived one after the other. The writer lives here, with the tables it
writes, so the store never calls back up into the engine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from heard_local.domain import Job, JobKind
from heard_local.domain.job import JobPayload
from heard_local.store.customers import CustomerRepo, IdentityClaim
from heard_local.store.database import Database
from heard_local.store.group_commit import GroupCommit
from heard_local.store.jobs import JobRepo, NewJob
from heard_local.store.transcriptions import NewTranscription, TranscriptionRepo

# Seconds the queued-work total (for estimates) is reused before the writer reads it again.
_WORK_AHEAD_TTL = 0.5


@dataclass
class PreparedIngest:
    kind: JobKind
    configuration_id: str
    dedup_key: str
    sha256: str
    transcription_id: str
    job_id: str
    identity: IdentityClaim
    name: str | None
    metadata: dict[str, Any]  # stored on the transcription (with normalised identifiers)
    payload: JobPayload  # the job's input (the metadata is stored once, on the transcription)
    channel: str | None
    source: str | None
    media_path: str | None
    recorded_at: datetime | None
    max_attempts: int
    estimate: float


@dataclass
class IngestOutcome:
    job: Job
    duplicate: bool
    queue_ahead: float = 0.0  # estimated seconds of work of the same weight class queued before it


class IngestWriter:
    """The one writer of new submissions: a group commit over :func:`write_ingest_batch`, adding the
    work already queued ahead of each item (re-read at most twice a second, so an ingest never waits
    on it)."""

    def __init__(self, db: Database, jobs: JobRepo, transcriptions: TranscriptionRepo, customers: CustomerRepo):
        self._jobs = jobs
        self._transcriptions = transcriptions
        self._customers = customers
        self._work_ahead: dict[bool, tuple[float, float]] = {}  # heavy? -> (read at, seconds)
        self._commit: GroupCommit[PreparedIngest, IngestOutcome] = GroupCommit(db, self._write_batch)

    def run(self, item: PreparedIngest) -> IngestOutcome:
        return self._commit.run(item)

    def submit(self, item: PreparedIngest) -> Future[IngestOutcome]:
        return self._commit.submit(item)

    def close(self) -> None:
        """Write everything already queued, then stop the writer thread."""
        self._commit.close()

    def _write_batch(self, cur: duckdb.DuckDBPyConnection, items: Sequence[PreparedIngest]) -> list[IngestOutcome]:
        now = time.monotonic()
        ahead: dict[bool, float] = {}
        for heavy in {item.kind.heavy for item in items}:
            read_at, seconds = self._work_ahead.get(heavy, (-1.0, 0.0))
            if now - read_at > _WORK_AHEAD_TTL:
                seconds = self._jobs.work_ahead_seconds(heavy, cur)
                self._work_ahead[heavy] = (now, seconds)
            ahead[heavy] = seconds
        outcomes = write_ingest_batch(self._jobs, self._transcriptions, self._customers, cur, items)
        for item, outcome in zip(items, outcomes, strict=True):
            outcome.queue_ahead = ahead[item.kind.heavy]
        return outcomes


def write_ingest_batch(jobs: JobRepo, transcriptions: TranscriptionRepo, customers: CustomerRepo,
                       cur: duckdb.DuckDBPyConnection, items: Sequence[PreparedIngest]) -> list[IngestOutcome]:
    existing = jobs.find_duplicates(cur, [item.dedup_key for item in items])
    outcomes: list[IngestOutcome | None] = []
    fresh: list[PreparedIngest] = []
    first_in_batch: dict[str, int] = {}
    for item in items:
        if item.dedup_key in existing:
            outcomes.append(IngestOutcome(existing[item.dedup_key], duplicate=True))
        elif item.dedup_key in first_in_batch:
            outcomes.append(None)  # filled once the first copy is written
        else:
            first_in_batch[item.dedup_key] = len(outcomes)
            outcomes.append(None)
            fresh.append(item)
    customer_ids = customers.resolve_many(cur, [item.identity for item in fresh])
    transcriptions.insert_pending_many(cur, [
        NewTranscription(
            transcription_id=item.transcription_id, configuration_id=item.configuration_id, kind=item.kind.value,
            name=item.name, metadata=item.metadata, channel=item.channel, source=item.source,
            customer_id=customer_id, media_path=item.media_path, content_sha256=item.sha256,
            recorded_at=item.recorded_at,
        )
        for item, customer_id in zip(fresh, customer_ids, strict=True)
    ])
    inserted = jobs.insert_many(cur, [
        NewJob(job_id=item.job_id, kind=item.kind, transcription_id=item.transcription_id,
               configuration_id=item.configuration_id, payload=item.payload, max_attempts=item.max_attempts,
               dedup_key=item.dedup_key, content_sha256=item.sha256, estimated_duration_seconds=item.estimate)
        for item in fresh
    ])
    written = {item.dedup_key: job for item, job in zip(fresh, inserted, strict=True)}
    result = []
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome is not None:
            result.append(outcome)
        else:
            is_first = items[first_in_batch[item.dedup_key]] is item
            result.append(IngestOutcome(written[item.dedup_key], duplicate=not is_first))
    return result
