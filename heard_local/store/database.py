"""The DuckDB file: one connection per process, one cursor per thread, one writer at a time.

duckdb refuses concurrent calls on one connection object, so every thread gets its own cursor.
Writes go through :meth:`Database.write`, which serialises them with a lock and wraps them in a
transaction; reads run concurrently on the thread's cursor and see committed data.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import duckdb

from heard_local.store.migrations import migrate

log = logging.getLogger(__name__)


class Database:
    def __init__(self, path: Path | str, *, read_only: bool = False):
        self.path = Path(path) if str(path) != ":memory:" else path
        self.read_only = read_only
        self._conn = duckdb.connect(str(path), read_only=read_only)
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        if not read_only:
            with self._write_lock:
                migrate(self._conn)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (created on first use)."""
        if self._closed:
            raise RuntimeError("database is closed")
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._conn.cursor()
            self._local.cursor = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A serialised write transaction; rolled back if the block raises. Re-entrant."""
        with self._write_lock:
            cur = self.cursor()
            depth = getattr(self._local, "depth", 0)
            self._local.depth = depth + 1
            try:
                if depth == 0:
                    cur.execute("BEGIN TRANSACTION")
                yield cur
                if depth == 0:
                    cur.execute("COMMIT")
            except BaseException:
                if depth == 0:
                    try:
                        cur.execute("ROLLBACK")
                    except duckdb.Error:
                        log.exception("rollback failed")
                raise
            finally:
                self._local.depth = depth

    def fetchall(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.cursor().execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        return self.cursor().execute(sql, params).fetchone()

    def fetch_dicts(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.cursor().execute(sql, params)
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def checkpoint(self) -> None:
        with self._write_lock:
            self.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        if self._closed:
            return
        with self._write_lock:
            # Close every thread's cursor first: CHECKPOINT refuses to run while another cursor
            # holds a transaction.
            with self._cursors_lock:
                for cur in self._cursors:
                    with suppress(duckdb.Error):
                        cur.close()
                self._cursors.clear()
            if not self.read_only:
                try:
                    self._conn.execute("CHECKPOINT")
                except duckdb.Error:
                    log.exception("checkpoint at shutdown failed")
            self._conn.close()
            self._closed = True
