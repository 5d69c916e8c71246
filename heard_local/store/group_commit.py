"""Group commit: many callers' small writes share one transaction, written by one thread.

Ingestion is many tiny writes (a transcription row, a job row, a customer link). One transaction per
request makes the single DuckDB writer the bottleneck under concurrent clients. Here callers queue
their item and get a future; one writer thread takes every item queued so far, writes them all with a
handful of multi-row statements in ONE transaction, and resolves each caller's future. Alone, a caller
pays what it always did; with 50 concurrent clients, they share the statements and the commit.

A future serves both kinds of caller: a thread blocks on ``run`` (``future.result()``), an event loop
awaits ``asyncio.wrap_future(submit(item))`` without tying up a worker thread per waiting request.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

import duckdb

from heard_local.errors import InternalError
from heard_local.store.database import Database

T = TypeVar("T")
R = TypeVar("R")

BatchWriter = Callable[[duckdb.DuckDBPyConnection, Sequence[T]], list[R]]

log = logging.getLogger(__name__)

_STOP = object()


class GroupCommit(Generic[T, R]):
    def __init__(self, db: Database, write_batch: BatchWriter[T, R], *, max_batch: int = 256):
        self._db = db
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; the future resolves to its result once its batch has committed."""
        future: Future[R] = Future()
        with self._lock:
            if self._closed:
                raise InternalError("heard-local is shutting down; retry the request once it has restarted.")
            if self._thread is None:
                # Started on first use: an engine that never ingests never owns the thread.
                self._thread = threading.Thread(target=self._loop, name="heard-group-commit", daemon=True)
                self._thread.start()
            self._queue.put((item, future))
        return future

    def run(self, item: T) -> R:
        """Queue ``item`` and wait for its result (raises what writing it raised)."""
        return self.submit(item).result()

    def close(self) -> None:
        """Write everything already queued, then stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            batch: list[tuple[T, Future[R]]] = []
            entry = self._queue.get()
            stopping = entry is _STOP
            if not stopping:
                batch.append(entry)  # type: ignore[arg-type]
            while not stopping and len(batch) < self._max_batch:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is _STOP:
                    stopping = True
                else:
                    batch.append(entry)  # type: ignore[arg-type]
            if batch:
                self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            with self._db.write() as cur:
                results = self._write_batch(cur, [item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            # One bad item must not fail its neighbours: write each alone.
            log.debug("a batch of %d failed (%s); writing its items one by one", len(batch), error)
            for entry in batch:
                self._write([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
