"""The webhook outbox: deliveries written in the same transaction as the job's final state, so a
crash can delay a notification but never lose it (at-least-once)."""

from __future__ import annotations

import uuid
from typing import Any

import duckdb

from heard_local.domain.clock import to_db, utcnow
from heard_local.store.database import Database
from heard_local.store.rows import dumps

SUCCESS = "success"
ERROR = "error"


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
        row = self.db.fetchone("SELECT count(*) FROM webhook_outbox WHERE status = 'PENDING'")
        return int(row[0]) if row else 0
