"""Group commit: many callers' small writes share one transaction, written by one thread.

Ingestion is many tiny writes (a transcription row, a job row, a customer link). One transaction per
request makes the single DuckDB writer the bottleneck under concurrent clients. Here callers queue
their item and get a future; one writer thread takes every item queued so far, writes them all with a
handful of multi-row statements in ONE transaction, and resolves each caller's future. Alone, a caller
pays what it always did; with 50 concurrent clients, they share the statements and the commit.

A future serves both kinds of caller: a thread blocks on ``run`` (``future.result()``), an event loop
awaits ``asyncio.wrap_future(submit(item))`` without tying up a worker thread per waiting request.

Nothing one item does can stop the writer: a future cancelled while queued (a client that hung up)
is skipped, an item whose write fails is failed alone, and any other surprise fails that batch's
futures, never the thread. At most ``max_queued`` items wait: beyond that ``submit`` answers "busy"
(429) at once and ``run`` waits for room (back-pressure on the watcher and the UI).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

import duckdb

from heard_local.errors import InternalError, RateLimitedError
from heard_local.store.database import Database

T = TypeVar("T")
R = TypeVar("R")

BatchWriter = Callable[[duckdb.DuckDBPyConnection, Sequence[T]], list[R]]

log = logging.getLogger(__name__)

_STOP = object()


class GroupCommit(Generic[T, R]):
    def __init__(self, db: Database, write_batch: BatchWriter[T, R], *, max_batch: int = 256,
                 max_queued: int = 4096):
        self._db = db
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._max_queued = max_queued
        self._queue: queue.SimpleQueue[tuple[T, Future[R]] | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified as the writer takes items
        self._queued = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, item: T, *, wait_seconds: float = 0.0) -> Future[R]:
        """Queue ``item``; the future resolves to its result once its batch has committed. With
        ``max_queued`` items already waiting, RateLimitedError after ``wait_seconds`` (0: at once)."""
        future: Future[R] = Future()
        with self._lock:
            if not self._closed and self._queued >= self._max_queued and wait_seconds > 0:
                self._room.wait_for(lambda: self._closed or self._queued < self._max_queued, wait_seconds)
            if self._closed:
                raise InternalError("heard-local is shutting down; retry the request once it has restarted.")
            if self._queued >= self._max_queued:
                raise RateLimitedError(f"heard-local is busy storing {self._queued} other submissions; retry in "
                                       "a moment.", retry_after=1.0)
            if self._thread is None:
                # Started on first use: an engine that never ingests never owns the thread.
                self._thread = threading.Thread(target=self._loop, name="heard-group-commit", daemon=True)
                self._thread.start()
            self._queued += 1
            self._queue.put((item, future))
        return future

    def run(self, item: T, *, wait_seconds: float = 60.0) -> R:
        """Queue ``item`` (waiting up to ``wait_seconds`` for room) and wait for its result (raises
        what writing it raised)."""
        return self.submit(item, wait_seconds=wait_seconds).result()

    def close(self) -> None:
        """Write everything already queued, then stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._room.notify_all()
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while True:
            batch, stopping = self._take()
            try:
                if batch:
                    self._write(batch)
            except BaseException as error:  # a bug in a batch must not leave every later caller hanging
                log.exception("the group-commit writer failed on a batch of %d", len(batch))
                for _, future in batch:
                    _resolve(future, error=InternalError(f"Storing the submission failed ({type(error).__name__}: "
                                                         f"{error}); retry it."))
            if stopping:
                return

    def _take(self) -> tuple[list[tuple[T, Future[R]]], bool]:
        """Everything queued so far (up to ``max_batch``), without the futures cancelled meanwhile, and
        whether the stop marker came."""
        entries: list[object] = [self._queue.get()]
        while entries[-1] is not _STOP and len(entries) < self._max_batch:
            try:
                entries.append(self._queue.get_nowait())
            except queue.Empty:
                break
        stopping = entries[-1] is _STOP
        items = [entry for entry in entries if entry is not _STOP]
        with self._lock:
            self._queued -= len(items)
            self._room.notify_all()
        # RUNNING from here on: a cancel() now returns False instead of breaking set_result below.
        return [entry for entry in items if entry[1].set_running_or_notify_cancel()], stopping  # type: ignore[index]

    def _write(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            with self._db.write() as cur:
                results = self._write_batch(cur, [item for item, _ in batch])
                if len(results) != len(batch):
                    raise InternalError(f"the batch writer returned {len(results)} results for {len(batch)} items")
        except Exception as error:
            if len(batch) == 1:
                _resolve(batch[0][1], error=error)
                return
            # One bad item must not fail its neighbours: write each alone.
            log.debug("a batch of %d failed (%s); writing its items one by one", len(batch), error)
            for entry in batch:
                self._write([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            _resolve(future, result=result)


def _resolve(future: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
