"""Group commit: many threads' small writes share one transaction.

Ingestion is many tiny writes (a transcription row, a job row, a customer link). One transaction per
request makes the single DuckDB writer the bottleneck under concurrent clients. Here the first caller
to arrive becomes the leader, takes every request queued so far, writes them all with a handful of
multi-row statements in ONE transaction, and hands each caller its own result. Alone, a caller pays
what it always did; with 50 concurrent clients, they share the statements and the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import duckdb

from heard_local.store.database import Database

T = TypeVar("T")
R = TypeVar("R")

BatchWriter = Callable[[duckdb.DuckDBPyConnection, Sequence[T]], list[R]]


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: Any = None
    error: BaseException | None = field(default=None)


class GroupCommit(Generic[T, R]):
    def __init__(self, db: Database, write_batch: BatchWriter[T, R], *, max_batch: int = 256):
        self._db = db
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Slot[T, R]] = []
        self._leader_active = False

    def run(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._queue.append(slot)
            while not slot.done and self._leader_active:
                self._cond.wait()
            if not slot.done:
                self._leader_active = True
        if not slot.done:
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _lead(self) -> None:
        try:
            while True:
                with self._cond:
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                if not batch:
                    return
                self._write(batch)
                with self._cond:
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._leader_active = False
                self._cond.notify_all()

    def _write(self, batch: list[_Slot[T, R]]) -> None:
        try:
            with self._db.write() as cur:
                results = self._write_batch(cur, [slot.item for slot in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
                batch[0].done = True
                return
            # One bad item must not fail its neighbours: write each alone.
            for slot in batch:
                self._write([slot])
            return
        for slot, result in zip(batch, results, strict=True):
            slot.result = result
            slot.done = True

