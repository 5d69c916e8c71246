"""The webhook outbox: deliveries written in the same transaction as the job's final state, so a
crash can delay a notification but never lose it (at-least-once).

A row is PENDING until its URL answers 2xx (DELIVERED) or the deliverer gives up (FAILED). While an
attempt runs it is SENDING, with ``next_attempt_at`` pushed past the attempt's deadline (a lease), so a
row is never sent twice at once; after a crash the lease runs out, or :meth:`release_leases` ends it
at the next start. Claims are serialised by the database's writer; the attempt number a claim hands out
fences its answer, so an attempt whose lease was taken over can no longer change the row.

A configuration has at most one delivery in flight: a slow or dead receiver holds one delivery worker,
never all of them, and every other configuration's webhooks keep going out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.store.database import Database
from heard_local.store.rows import dumps

SUCCESS = "success"
ERROR = "error"

PENDING = "PENDING"
SENDING = "SENDING"
DELIVERED = "DELIVERED"
FAILED = "FAILED"

_COLUMNS = "delivery_id, transcription_id, configuration_id, event, url, payload, status, attempts, " \
           "next_attempt_at, last_error, created_at, delivered_at"


# A configuration with a delivery whose lease still runs (the row's own lease counts only while it runs).
_IN_FLIGHT = """EXISTS (SELECT 1 FROM webhook_outbox f WHERE f.configuration_id = o.configuration_id
                         AND f.status = 'SENDING' AND f.next_attempt_at > ?)"""
# Due rows, the oldest per configuration, of configurations with nothing in flight.
_CLAIMABLE = f"""SELECT delivery_id, next_attempt_at, created_at FROM webhook_outbox o
                 WHERE status IN ('PENDING', 'SENDING') AND next_attempt_at <= ? AND NOT {_IN_FLIGHT}
                 QUALIFY row_number() OVER (PARTITION BY configuration_id ORDER BY next_attempt_at, created_at) = 1"""


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    transcription_id: str
    configuration_id: str
    event: str
    url: str
    body: str  # the exact JSON text sent (and signed) on every attempt
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _build(row: tuple[Any, ...]) -> Delivery:
    (delivery_id, transcription_id, configuration_id, event, url, payload, status, attempts, next_attempt_at,
     last_error, created_at, delivered_at) = row
    return Delivery(delivery_id=delivery_id, transcription_id=transcription_id, configuration_id=configuration_id,
                    event=event, url=url, body=payload, status=status, attempts=attempts,
                    next_attempt_at=from_db(next_attempt_at), last_error=last_error,
                    created_at=from_db(created_at), delivered_at=from_db(delivered_at))


class WebhookOutbox:
    def __init__(self, db: Database):
        self.db = db

    def enqueue(self, cur: duckdb.DuckDBPyConnection, *, transcription_id: str, configuration_id: str,
                event: str, url: str, payload: dict[str, Any]) -> str:
        delivery_id = "msg_" + uuid.uuid4().hex
        now = to_db(utcnow())
        cur.execute(
            "INSERT INTO webhook_outbox (delivery_id, transcription_id, configuration_id, event, url, payload, "
            "status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)",
            [delivery_id, transcription_id, configuration_id, event, url, dumps(payload), now, now],
        )
        return delivery_id

    def pending_count(self) -> int:
        row = self.db.fetchone("SELECT count(*) FROM webhook_outbox WHERE status IN ('PENDING', 'SENDING')")
        return int(row[0]) if row else 0

    def claim_due(self, *, lease_until: datetime, limit: int) -> list[Delivery]:
        """Take up to ``limit`` rows whose time has come (PENDING, or SENDING with an expired lease), the
        oldest of each configuration that has nothing in flight, leasing them until ``lease_until``."""
        now = to_db(utcnow())
        with self.db.write() as cur:
            rows = cur.execute(
                f"""UPDATE webhook_outbox SET status = 'SENDING', attempts = attempts + 1, next_attempt_at = ?
                    WHERE delivery_id IN (SELECT delivery_id FROM ({_CLAIMABLE}) ORDER BY next_attempt_at,
                                          created_at LIMIT ?)
                    RETURNING {_COLUMNS}""",
                [to_db(lease_until), now, now, limit],
            ).fetchall()
        return sorted((_build(r) for r in rows), key=lambda d: (d.created_at, d.delivery_id))

    def mark_delivered(self, delivery: Delivery) -> bool:
        """Record the 2xx of ``delivery``'s attempt; False when that attempt's lease was taken over."""
        return self._finish(delivery, "status = 'DELIVERED', delivered_at = ?, last_error = NULL", [to_db(utcnow())])

    def retry_at(self, delivery: Delivery, when: datetime, error: str) -> bool:
        return self._finish(delivery, "status = 'PENDING', next_attempt_at = ?, last_error = ?",
                            [to_db(when), error[:1000]])

    def mark_failed(self, delivery: Delivery, error: str) -> bool:
        return self._finish(delivery, "status = 'FAILED', last_error = ?", [error[:1000]])

    def _finish(self, delivery: Delivery, assignments: str, params: list[Any]) -> bool:
        """Update the row only while it is still this attempt's (SENDING with the attempt number claimed)."""
        with self.db.write() as cur:
            rows = cur.execute(
                f"UPDATE webhook_outbox SET {assignments} WHERE delivery_id = ? AND status = 'SENDING' "
                "AND attempts = ? RETURNING delivery_id", [*params, delivery.delivery_id, delivery.attempts],
            ).fetchall()
        return bool(rows)

    def release_leases(self) -> int:
        """At start-up: rows leased by a process that died become due now (they are re-sent; the
        receiver tells the copies apart by their unchanged ``webhook-id``)."""
        now = to_db(utcnow())
        with self.db.write() as cur:
            rows = cur.execute(
                "UPDATE webhook_outbox SET status = 'PENDING', next_attempt_at = ? WHERE status = 'SENDING' "
                "RETURNING delivery_id", [now],
            ).fetchall()
        return len(rows)

    def next_due_at(self) -> datetime | None:
        """When the next claimable row falls due (rows of a configuration with one in flight wait for it)."""
        now = to_db(utcnow())
        row = self.db.fetchone(
            "SELECT min(next_attempt_at) FROM webhook_outbox o WHERE status IN ('PENDING', 'SENDING') "
            f"AND NOT {_IN_FLIGHT}", [now])
        return from_db(row[0]) if row and row[0] else None

    def get(self, delivery_id: str) -> Delivery | None:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM webhook_outbox WHERE delivery_id = ?", [delivery_id])
        return _build(row) if row else None

    def list_for_transcription(self, transcription_id: str) -> list[Delivery]:
        rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM webhook_outbox WHERE transcription_id = ? "
                                "ORDER BY created_at", [transcription_id])
        return [_build(r) for r in rows]
