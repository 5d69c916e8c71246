"""Parquet snapshots of the database, for notebooks and BI tools while the server owns the DuckDB file.

DuckDB lets one process open the file read-write, and a running ``heard-local serve`` is that process.
So the server keeps ``<data dir>/exports/*.parquet`` fresh instead: :class:`ParquetSnapshotService`
checks every ``export_interval_seconds`` whether anything changed and, if so, rewrites every file
atomically (see :func:`heard_local.store.export.write_tables`). ``manifest.json`` beside them says
when the snapshot was taken and how many rows each file holds; it is written last.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heard_local.domain.clock import utcnow
from heard_local.store import Store
from heard_local.store.export import EXPORT_TABLES, fingerprint, remove_stale_temp_files, write_tables

if TYPE_CHECKING:
    from heard_local.engine.engine import Engine

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "heard-local-parquet-export"
MANIFEST_VERSION = 1
TABLE_NAMES: tuple[str, ...] = tuple(EXPORT_TABLES)

# Exports to one directory run one at a time (the service's timer and an API call can meet).
_directory_locks: dict[Path, threading.Lock] = {}
_directory_locks_guard = threading.Lock()


def _lock_for(directory: Path) -> threading.Lock:
    key = directory.resolve()
    with _directory_locks_guard:
        return _directory_locks.setdefault(key, threading.Lock())


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of the snapshot in ``directory``, or None when there is none (or it is unreadable)."""
    try:
        manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def _complete(directory: Path, manifest: dict[str, Any]) -> bool:
    tables = manifest.get("tables") or {}
    return set(tables) == set(TABLE_NAMES) and all((directory / t["file"]).is_file() for t in tables.values())


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    temp = directory / f".{MANIFEST_NAME}.tmp"
    temp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, directory / MANIFEST_NAME)


def write_snapshot(store: Store, directory: Path, *, force: bool = False) -> dict[str, Any]:
    """Write every table as Parquet into ``directory`` unless the snapshot there is already current.

    Returns the manifest: ``{"format", "version", "exported_at", "directory", "fingerprint", "tables":
    {name: {"file", "rows"}}}``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with _lock_for(directory):
        current = read_manifest(directory)
        if (not force and current is not None and _complete(directory, current)
                and current.get("fingerprint") == fingerprint(store.db)):
            return current
        remove_stale_temp_files(directory)
        snapshot, counts = write_tables(store.db, directory)
        manifest = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "exported_at": utcnow().isoformat().replace("+00:00", "Z"),
            "directory": str(directory.resolve()),
            "fingerprint": snapshot,
            "tables": {name: {"file": f"{name}.parquet", "rows": rows} for name, rows in counts.items()},
        }
        _write_manifest(directory, manifest)
        log.debug("exported %s to %s", counts, directory)
        return manifest


def snapshot_is_current(store: Store, directory: Path) -> bool:
    manifest = read_manifest(directory)
    return (manifest is not None and _complete(directory, manifest)
            and manifest.get("fingerprint") == fingerprint(store.db))


class ParquetSnapshotService:
    """Keeps ``settings.export_dir`` fresh: at start, at most every ``export_interval_seconds`` after a
    change, and once more at shutdown. An interval of 0 or less turns the timer off (exports then
    happen only on request)."""

    def __init__(self, engine: Engine, *, interval_seconds: float | None = None):
        self.engine = engine
        self.interval = engine.settings.export_interval_seconds if interval_seconds is None else interval_seconds
        self.directory = engine.settings.export_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.exports = 0  # snapshots written by this service (for status and tests)
        self.last_error: str | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="heard-parquet-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=60)
        self._thread = None
        self.refresh()  # what changed since the last tick is exported before the engine closes

    def refresh(self) -> bool:
        """Export if anything changed; True when files were written. Never raises (logged instead)."""
        try:
            if self.engine.exports.parquet_is_current(self.directory):
                return False
            self.engine.exports.parquet(self.directory, force=True)
        except Exception as exc:
            self.last_error = str(exc)
            log.exception("writing the Parquet exports to %s failed", self.directory)
            return False
        self.last_error = None
        self.exports += 1
        return True

    def _run(self) -> None:
        self.refresh()
        if self.interval <= 0:
            return
        while not self._stop.wait(self.interval):
            self.refresh()

    def __repr__(self) -> str:
        return f"ParquetSnapshotService({self.directory}, every {self.interval}s)"
