"""Turning accepted submissions into stored transcriptions and queued jobs, many at a time.

Everything that needs no database (ids, normalised identifiers, JSON) is prepared by the caller's own
thread; the group commit then writes a whole batch with one statement per table (see
store/group_commit.py). Within a batch, the second of two identical submissions is a duplicate of the
first, exactly as if they had arrived one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from heard_local.domain import Job, JobKind
from heard_local.store import NewJob, NewTranscription, Store
from heard_local.store.customers import IdentityClaim


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
    payload: dict[str, Any]  # the job's input
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


def write_ingest_batch(store: Store, cur: duckdb.DuckDBPyConnection,
                       items: Sequence[PreparedIngest]) -> list[IngestOutcome]:
    existing = store.jobs.find_duplicates(cur, [item.dedup_key for item in items])
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
    customer_ids = store.customers.resolve_many(cur, [item.identity for item in fresh])
    store.transcriptions.insert_pending_many(cur, [
        NewTranscription(
            transcription_id=item.transcription_id, configuration_id=item.configuration_id, kind=item.kind.value,
            name=item.name, metadata=item.metadata, channel=item.channel, source=item.source,
            customer_id=customer_id, media_path=item.media_path, content_sha256=item.sha256,
            recorded_at=item.recorded_at,
        )
        for item, customer_id in zip(fresh, customer_ids, strict=True)
    ])
    jobs = store.jobs.insert_many(cur, [
        NewJob(job_id=item.job_id, kind=item.kind, transcription_id=item.transcription_id,
               configuration_id=item.configuration_id, payload=item.payload, max_attempts=item.max_attempts,
               dedup_key=item.dedup_key, content_sha256=item.sha256, estimated_duration_seconds=item.estimate)
        for item in fresh
    ])
    written = {item.dedup_key: job for item, job in zip(fresh, jobs, strict=True)}
    result = []
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome is not None:
            result.append(outcome)
        else:
            is_first = items[first_in_batch[item.dedup_key]] is item
            result.append(IngestOutcome(written[item.dedup_key], duplicate=not is_first))
    return result
