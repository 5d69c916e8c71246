"""The Parquet snapshot a running server keeps fresh for notebooks and BI tools."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from heard_local.engine import Engine
from heard_local.engine.snapshots import ParquetSnapshotService, read_manifest
from tests.exports.conftest import Filled

TRANSCRIPT = "[00:00:01] Agent: One more call.\n[00:00:03] Customer: Indeed."


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def exported_transcriptions(directory: Path) -> int | None:
    manifest = read_manifest(directory)
    return None if manifest is None else manifest["tables"]["transcriptions"]["rows"]


def ingest_one(engine: Engine, text: str = TRANSCRIPT) -> None:
    submission = engine.ingest.transcript({"transcript_text": text})
    engine.jobs.wait(submission.job.job_id, timeout=60)


def test_the_service_exports_at_start_and_after_each_change(filled: Filled) -> None:
    engine = filled.engine
    directory = engine.settings.export_dir
    service = ParquetSnapshotService(engine, interval_seconds=0.05)
    engine.add_service(service)
    assert wait_until(lambda: exported_transcriptions(directory) == len(filled.ids))
    ingest_one(engine)
    assert wait_until(lambda: exported_transcriptions(directory) == len(filled.ids) + 1)
    rows = duckdb.execute(f"SELECT count(*) FROM read_parquet('{directory / 'transcriptions.parquet'}')").fetchone()
    assert rows == (len(filled.ids) + 1,)
    assert wait_until(lambda: engine.exports.parquet_is_current(directory))
    exports = service.exports
    time.sleep(0.3)  # several ticks with nothing new: nothing is rewritten
    assert service.exports == exports
    assert service.last_error is None


def test_stopping_exports_what_changed_since_the_last_tick(filled: Filled) -> None:
    engine = filled.engine
    directory = engine.settings.export_dir
    service = ParquetSnapshotService(engine, interval_seconds=3600)
    service.start()
    assert wait_until(lambda: exported_transcriptions(directory) == len(filled.ids))
    ingest_one(engine)
    assert exported_transcriptions(directory) == len(filled.ids)  # the next tick is an hour away
    service.stop()
    assert exported_transcriptions(directory) == len(filled.ids) + 1


def test_engine_close_stops_the_service_with_a_last_export(filled: Filled) -> None:
    engine = filled.engine
    engine.add_service(ParquetSnapshotService(engine, interval_seconds=0))
    ingest_one(engine)
    engine.close()
    assert exported_transcriptions(engine.settings.export_dir) == len(filled.ids) + 1


def test_a_failing_export_is_reported_not_raised(engine: Engine, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the export directory should be")
    service = ParquetSnapshotService(engine, interval_seconds=0)
    service.directory = blocked
    assert service.refresh() is False
    assert service.last_error
    service.directory = tmp_path / "fine"
    assert service.refresh() is True and service.last_error is None
