"""The job queue, kept in DuckDB so nothing accepted is lost when the process dies.

States: PENDING -> IN_PROGRESS -> COMPLETED | FAILED. A claim is one UPDATE … RETURNING under the
database's single writer, so two workers never get the same job. Jobs found IN_PROGRESS at start-up
belonged to a process that died; they go back to PENDING.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from heard_local.domain import Job, JobKind, JobStatus, Progress
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.domain.job import JobPayload, parse_job_payload
from heard_local.errors import NotFoundError
from heard_local.store.database import Database
from heard_local.store.rows import dumps, insert_rows, loads

_COLUMNS = (
    "job_id, kind, status, transcription_id, configuration_id, content_sha256, payload, attempts, "
    "max_attempts, last_error, error_code, progress_step, progress_completed, progress_total, created_at, "
    "started_at, finished_at, run_after, estimated_duration_seconds"
)


def _build(row: tuple[Any, ...]) -> Job:
    (job_id, kind, status, transcription_id, configuration_id, sha, payload, attempts, max_attempts,
     last_error, error_code, step, completed, total, created_at, started_at, finished_at, run_after,
     estimate) = row
    return Job(
        job_id=job_id, kind=JobKind(kind), status=JobStatus(status), transcription_id=transcription_id,
        configuration_id=configuration_id, content_sha256=sha, payload=parse_job_payload(loads(payload, {})),
        attempts=attempts,
        max_attempts=max_attempts, last_error=last_error, error_code=error_code,
        progress=Progress(step=step or "queued", completed=completed, total=total),
        created_at=from_db(created_at), started_at=from_db(started_at), finished_at=from_db(finished_at),
        run_after=from_db(run_after), estimated_duration_seconds=estimate,
    )


@dataclass
class NewJob:
    job_id: str
    kind: JobKind
    transcription_id: str
    configuration_id: str
    payload: JobPayload
    max_attempts: int
    dedup_key: str | None = None
    content_sha256: str | None = None
    estimated_duration_seconds: float | None = None


class JobRepo:
    def __init__(self, db: Database):
        self.db = db

    def insert(self, cur: duckdb.DuckDBPyConnection, job: NewJob) -> Job:
        return self.insert_many(cur, [job])[0]

    def insert_many(self, cur: duckdb.DuckDBPyConnection, jobs: Sequence[NewJob]) -> list[Job]:
        """Queue ``jobs`` (one statement); returns them as stored."""
        now = utcnow()
        insert_rows(cur, "jobs", ["job_id", "kind", "status", "transcription_id", "configuration_id", "dedup_key",
                                  "content_sha256", "payload", "attempts", "max_attempts", "run_after",
                                  "progress_step", "estimated_duration_seconds", "created_at"], [
            (job.job_id, job.kind.value, "PENDING", job.transcription_id, job.configuration_id, job.dedup_key,
             job.content_sha256, dumps(job.payload.model_dump(mode="json")), 0, job.max_attempts, to_db(now), "queued",
             job.estimated_duration_seconds, to_db(now))
            for job in jobs
        ])
        return [Job(job_id=job.job_id, kind=job.kind, status=JobStatus.PENDING, transcription_id=job.transcription_id,
                    configuration_id=job.configuration_id, content_sha256=job.content_sha256, payload=job.payload,
                    max_attempts=job.max_attempts, progress=Progress(step="queued"), created_at=now, run_after=now,
                    estimated_duration_seconds=job.estimated_duration_seconds) for job in jobs]

    def get(self, job_id: str) -> Job:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", [job_id])
        if row is None:
            raise NotFoundError(f"Job {job_id} not found", field="job_id")
        return _build(row)

    def find_duplicate(self, cur: duckdb.DuckDBPyConnection, dedup_key: str) -> Job | None:
        """An earlier job for the same content and configuration that has not failed."""
        return self.find_duplicates(cur, [dedup_key]).get(dedup_key)

    def find_duplicates(self, cur: duckdb.DuckDBPyConnection, dedup_keys: Sequence[str]) -> dict[str, Job]:
        """For each key that has one, the earliest job that has not failed (one query for a batch)."""
        keys = sorted(set(dedup_keys))
        if not keys:
            return {}
        marks = ", ".join("?" for _ in keys)
        rows = cur.execute(
            f"SELECT dedup_key, {_COLUMNS} FROM jobs WHERE dedup_key IN ({marks}) AND status <> 'FAILED' "
            "ORDER BY created_at DESC", keys,
        ).fetchall()
        return {row[0]: _build(row[1:]) for row in rows}  # earliest last, so it wins

    def latest_for_transcription(self, transcription_id: str) -> Job | None:
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM jobs WHERE transcription_id = ? ORDER BY created_at DESC LIMIT 1",
            [transcription_id],
        )
        return _build(row) if row else None

    def claim(self, kinds: Sequence[JobKind]) -> Job | None:
        """Atomically take the oldest runnable PENDING job of one of ``kinds`` and mark its transcription
        IN_PROGRESS."""
        claimed = self.claim_many(kinds, 1)
        return claimed[0] if claimed else None

    def claim_many(self, kinds: Sequence[JobKind], limit: int) -> list[Job]:
        """Atomically take up to ``limit`` of the oldest runnable PENDING jobs of ``kinds``, oldest first,
        and mark their transcriptions IN_PROGRESS: one transaction for all of them, since each statement
        costs DuckDB the same for one row as for several."""
        if not kinds or limit < 1:
            return []
        now = to_db(utcnow())
        marks = ", ".join("?" for _ in kinds)
        with self.db.write() as cur:
            rows = cur.execute(
                f"""UPDATE jobs SET status = 'IN_PROGRESS', attempts = attempts + 1, started_at = ?,
                        progress_step = 'starting', progress_completed = NULL, progress_total = NULL
                    WHERE job_id IN (SELECT job_id FROM jobs WHERE status = 'PENDING' AND run_after <= ?
                                     AND kind IN ({marks}) ORDER BY run_after, created_at LIMIT ?)
                    RETURNING {_COLUMNS}""",
                [now, now, *[k.value for k in kinds], limit],
            ).fetchall()
            jobs = sorted((_build(row) for row in rows),
                          key=lambda job: (job.run_after or job.created_at, job.created_at))
            # re-running the LLM leaves a finished transcript finished
            started = [job.transcription_id for job in jobs if job.kind is not JobKind.REPROCESS]
            if started:
                # the same transaction: a transcript job often finishes before a second write could land
                cur.execute(
                    "UPDATE transcriptions SET status = 'IN_PROGRESS', started_at = coalesce(started_at, ?), "
                    f"updated_at = ? WHERE transcription_id IN ({', '.join('?' for _ in started)}) "
                    "AND status IN ('PENDING', 'IN_PROGRESS')",
                    [now, now, *started],
                )
        return jobs

    def release(self, jobs: Sequence[Job]) -> None:
        """Claimed jobs a stopping worker will not start: back to PENDING as if never claimed."""
        if not jobs:
            return
        ids = [job.job_id for job in jobs]
        marks = ", ".join("?" for _ in ids)
        with self.db.write() as cur:
            cur.execute(
                f"UPDATE jobs SET status = 'PENDING', attempts = attempts - 1, progress_step = 'queued' "
                f"WHERE status = 'IN_PROGRESS' AND job_id IN ({marks})", ids)
            transcriptions = [job.transcription_id for job in jobs if job.kind is not JobKind.REPROCESS]
            if transcriptions:
                cur.execute(
                    "UPDATE transcriptions SET status = 'PENDING' WHERE status = 'IN_PROGRESS' "
                    f"AND transcription_id IN ({', '.join('?' for _ in transcriptions)})", transcriptions)

    def next_run_after(self, kinds: Sequence[JobKind]) -> datetime | None:
        if not kinds:
            return None
        marks = ", ".join("?" for _ in kinds)
        row = self.db.fetchone(
            f"SELECT min(run_after) FROM jobs WHERE status = 'PENDING' AND kind IN ({marks})",
            [k.value for k in kinds],
        )
        return from_db(row[0]) if row and row[0] else None

    def set_progress(self, job_id: str, progress: Progress) -> None:
        with self.db.write() as cur:
            cur.execute(
                "UPDATE jobs SET progress_step = ?, progress_completed = ?, progress_total = ? WHERE job_id = ? "
                "AND status = 'IN_PROGRESS'",
                [progress.step, progress.completed, progress.total, job_id],
            )

    def mark_completed(self, cur: duckdb.DuckDBPyConnection, job_id: str) -> None:
        cur.execute(
            "UPDATE jobs SET status = 'COMPLETED', finished_at = ?, progress_step = 'done', last_error = NULL, "
            "error_code = NULL WHERE job_id = ?",
            [to_db(utcnow()), job_id],
        )

    def mark_failed(self, cur: duckdb.DuckDBPyConnection, job_id: str, message: str, code: str) -> None:
        cur.execute(
            "UPDATE jobs SET status = 'FAILED', finished_at = ?, progress_step = 'failed', last_error = ?, "
            "error_code = ? WHERE job_id = ?",
            [to_db(utcnow()), message, code, job_id],
        )

    def retry_later(self, job_id: str, message: str, code: str, delay_seconds: float) -> None:
        run_after = to_db(utcnow() + timedelta(seconds=delay_seconds))
        with self.db.write() as cur:
            cur.execute(
                "UPDATE jobs SET status = 'PENDING', run_after = ?, last_error = ?, error_code = ?, "
                "progress_step = 'waiting to retry' WHERE job_id = ?",
                [run_after, message, code, job_id],
            )

    def interrupted_without_attempts_left(self) -> list[Job]:
        """Jobs left IN_PROGRESS by a process that died, whose every attempt has been used (each start
        counts one): a job that kills the process must not kill it at every start."""
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM jobs WHERE status = 'IN_PROGRESS' AND attempts >= max_attempts")
        return [_build(row) for row in rows]

    def requeue_interrupted(self) -> list[str]:
        """Jobs left IN_PROGRESS by a process that died: back to PENDING, runnable now."""
        with self.db.write() as cur:
            rows = cur.execute(
                "UPDATE jobs SET status = 'PENDING', run_after = ?, progress_step = 'queued (resumed after restart)' "
                "WHERE status = 'IN_PROGRESS' RETURNING job_id",
                [to_db(utcnow())],
            ).fetchall()
            if rows:
                cur.execute(
                    "UPDATE transcriptions SET status = 'PENDING' WHERE status = 'IN_PROGRESS' AND transcription_id IN "
                    "(SELECT transcription_id FROM jobs WHERE status = 'PENDING')"
                )
        return [r[0] for r in rows]

    def reset_for_rerun(self, cur: duckdb.DuckDBPyConnection, job_id: str) -> None:
        cur.execute(
            "UPDATE jobs SET status = 'PENDING', attempts = 0, run_after = ?, last_error = NULL, error_code = NULL, "
            "finished_at = NULL, progress_step = 'queued' WHERE job_id = ?",
            [to_db(utcnow()), job_id],
        )

    def queue_position(self, job: Job) -> int | None:
        """How many jobs of the same weight class run or wait ahead of ``job`` (0 = next/now)."""
        if job.status is not JobStatus.PENDING:
            return None
        kinds = [k.value for k in JobKind if k.heavy == job.kind.heavy]
        marks = ", ".join("?" for _ in kinds)
        row = self.db.fetchone(
            f"SELECT count(*) FROM jobs WHERE kind IN ({marks}) AND (status = 'IN_PROGRESS' OR "
            "(status = 'PENDING' AND (run_after, created_at) < (?, ?)))",
            [*kinds, to_db(job.run_after), to_db(job.created_at)],
        )
        return int(row[0]) if row else 0

    def work_ahead_seconds(self, heavy: bool, cur: duckdb.DuckDBPyConnection | None = None) -> float:
        """Estimated seconds of queued and running work of one weight class."""
        kinds = [k.value for k in JobKind if k.heavy == heavy]
        marks = ", ".join("?" for _ in kinds)
        row = (cur or self.db.cursor()).execute(
            f"SELECT coalesce(sum(coalesce(estimated_duration_seconds, 1)), 0) FROM jobs "
            f"WHERE kind IN ({marks}) AND status IN ('PENDING', 'IN_PROGRESS')",
            kinds,
        ).fetchone()
        return float(row[0]) if row else 0.0

    def counts(self) -> dict[str, int]:
        rows = self.db.fetchall("SELECT status, count(*) FROM jobs GROUP BY status")
        return {r[0]: int(r[1]) for r in rows}

    def list_recent(self, limit: int = 50, statuses: Sequence[JobStatus] | None = None) -> list[Job]:
        where, params = "", []
        if statuses:
            where = "WHERE status IN (" + ", ".join("?" for _ in statuses) + ")"
            params = [s.value for s in statuses]
        rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC LIMIT ?",
                                [*params, limit])
        return [_build(r) for r in rows]
