"""Exports on a large data directory: the Parquet snapshot, the snapshot service's change check, the
fields CSV, and loading a notebook session.

    python -m benchmarks exports [--quick]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from benchmarks.large_store import open_filled
from benchmarks.result import Result
from heard_local.engine import Engine
from heard_local.exports.fields_csv import to_csv
from heard_local.local_client import LocalClient
from heard_local.notebook import Heard
from tests.support.engine_internals import store_of

NAME = "exports"
T = TypeVar("T")


def _add_fields(engine: Engine, transcriptions: int) -> None:
    """Four extracted fields per conversation, like an LLM stage would store."""
    with store_of(engine).db.write() as cur:
        cur.execute(f"""
            INSERT INTO extracted_fields (transcription_id, position, name, type, value, evidence)
            SELECT 'bench-' || t.i, f.p, ['reason', 'resolved', 'amount', 'products'][f.p + 1],
                   ['string', 'boolean', 'number', 'array'][f.p + 1],
                   CASE f.p WHEN 0 THEN '"billing question, ' || (t.i % 7) || '"' WHEN 1 THEN 'true'
                            WHEN 2 THEN CAST(t.i % 500 AS VARCHAR) ELSE '["card", "loan"]' END,
                   '[]'
            FROM range({transcriptions}) t(i), range(4) f(p)
        """)


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def _measure(transcriptions: int, segments_per: int) -> list[Result]:
    size = f"{transcriptions:,} calls × {segments_per} segments"
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_filled(Path(tmp) / "data", transcriptions=transcriptions, segments_per=segments_per)
        try:
            _add_fields(engine, transcriptions)
            export_s, manifest = _timed(lambda: engine.exports.parquet(force=True))
            check_s, current = _timed(lambda: engine.exports.parquet_is_current())
            assert current, "a fresh snapshot must count as current"
            csv_s, text = _timed(lambda: to_csv(engine.exports.fields()))
            session = Heard(mode="local", settings=engine.settings, client=LocalClient(engine))
            load_s, _ = _timed(lambda: (session.refresh(), len(session.segments), len(session.transcriptions)))
            session.close()
            megabytes = sum(p.stat().st_size for p in engine.settings.export_dir.glob("*.parquet")) / 1e6
        finally:
            engine.close()
    rows = manifest["tables"]["segments"]["rows"]
    return [
        Result(NAME, "parquet snapshot, all tables", export_s, "s", "< 10 s", export_s < 10,
               f"{size}; {megabytes:.2f} MB"),
        Result(NAME, "segments exported per second", rows / export_s, "rows/s", "", None, size),
        Result(NAME, "change check (each service tick)", check_s, "s", "< 1 s", check_s < 1, size),
        Result(NAME, "fields CSV", csv_s, "s", "< 10 s", csv_s < 10, f"{len(text) / 1e6:.1f} MB; {size}"),
        Result(NAME, "notebook: refresh + load segments", load_s, "s", "< 10 s", load_s < 10, size),
    ]


def run(quick: bool) -> list[Result]:
    if quick:
        return _measure(1_000, 20)
    return _measure(10_000, 40)
