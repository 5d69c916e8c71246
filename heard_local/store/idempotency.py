"""Idempotency keys: the first response to a request carrying an ``Idempotency-Key`` is stored, and a
retry with the same key gets that response back instead of a second job.

A key is first *reserved* (a row with no response yet) in a short transaction, the action runs
outside any lock (ingestion batches its writes across threads, see group_commit.py), and the response
is then stored; a failing action (a validation error) releases the key, so nothing is kept. A retry
arriving while the first request still runs waits for its answer. A reservation left by a process
that died is taken over after ``_ABANDONED_SECONDS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.errors import ConflictError, ValidationError
from heard_local.store.database import Database
from heard_local.store.rows import dumps, loads

MAX_KEY_LENGTH = 255
_RESERVED = 0  # response_status of a key whose first request is still running
_ABANDONED_SECONDS = 120.0
_POLL_SECONDS = 0.01
_PURGE_EVERY = 1000


class IdempotencyMismatchError(ValidationError):
    """The Idempotency-Key was used before with a different request body (HTTP 422)."""

    http_status = 422


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]
    replayed: bool


class IdempotencyRepo:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self._clock = clock  # what the keys' TTL is measured by
        self._reservations = 0

    def run_once(self, scope: str, request_hash: str, ttl_seconds: float,
                 action: Callable[[], tuple[int, dict[str, Any]]], *, wait_seconds: float = 30.0) -> StoredResponse:
        """The stored response for ``scope`` when there is one (422 if it answered another request),
        else run ``action`` and store what it returns."""
        deadline = time.monotonic() + wait_seconds
        while (found := self._reserve(scope, request_hash, ttl_seconds)) is not None:
            if found.replayed:
                return found
            if time.monotonic() > deadline:
                raise ConflictError("A request with this Idempotency-Key is still being processed; retry shortly.",
                                    field="Idempotency-Key")
            time.sleep(_POLL_SECONDS)
        try:
            status, body = action()
        except BaseException:
            self._release(scope)
            raise
        with self.db.write() as cur:
            cur.execute("UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE scope = ?",
                        [status, dumps(body), scope])
        return StoredResponse(status=status, body=body, replayed=False)

    def _reserve(self, scope: str, request_hash: str, ttl_seconds: float) -> StoredResponse | None:
        """None: the key is now ours. Otherwise the stored answer (replayed=True), or a marker that
        another request holds the key (replayed=False)."""
        now = self._clock()
        with self.db.write() as cur:
            row = cur.execute(
                "SELECT request_hash, response_status, response_body, created_at FROM idempotency_keys "
                "WHERE scope = ?", [scope],
            ).fetchone()
            if row is not None and not _expired(row, now, ttl_seconds):
                if row[0] != request_hash:
                    raise IdempotencyMismatchError(
                        "This Idempotency-Key was already used with a different request. Use a new key "
                        "for a new request.", field="Idempotency-Key")
                if row[1] != _RESERVED:
                    return StoredResponse(status=int(row[1]), body=loads(row[2], {}), replayed=True)
                return StoredResponse(status=_RESERVED, body={}, replayed=False)
            # OR REPLACE: an expired key's old answer (or an abandoned reservation) is forgotten.
            cur.execute(
                "INSERT OR REPLACE INTO idempotency_keys (scope, request_hash, response_status, response_body, "
                "created_at) VALUES (?, ?, ?, '{}', ?)", [scope, request_hash, _RESERVED, to_db(now)],
            )
        self._reservations += 1
        if self._reservations % _PURGE_EVERY == 0:  # keys nobody will retry any more
            self.purge_expired(ttl_seconds)
        return None

    def _release(self, scope: str) -> None:
        with self.db.write() as cur:
            cur.execute("DELETE FROM idempotency_keys WHERE scope = ? AND response_status = ?", [scope, _RESERVED])

    def purge_expired(self, ttl_seconds: float) -> int:
        """Forget answers older than ``ttl_seconds`` (reservations in progress are younger)."""
        cutoff = to_db(self._clock() - timedelta(seconds=max(ttl_seconds, _ABANDONED_SECONDS)))
        with self.db.write() as cur:
            rows = cur.execute("DELETE FROM idempotency_keys WHERE created_at < ? RETURNING scope",
                               [cutoff]).fetchall()
        return len(rows)


def _expired(row: tuple[Any, ...], now: datetime, ttl_seconds: float) -> bool:
    created: datetime = from_db(row[3])  # type: ignore[assignment]
    limit = _ABANDONED_SECONDS if row[1] == _RESERVED else ttl_seconds
    return created <= now - timedelta(seconds=limit)
