"""Queries over 1M stored segments (10,000 conversations × 100 segments)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.large_store import open_filled
from benchmarks.result import Result
from heard_local.domain import TranscriptionFilter
from tests.support.engine_internals import store_of


def _median_ms(action: Callable[[], object], repeats: int = 7) -> float:
    action()  # warm caches once
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(quick: bool) -> list[Result]:
    transcriptions = 1_000 if quick else 10_000
    segments_per = 100
    total = transcriptions * segments_per
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        engine = open_filled(Path(tmp) / "data", transcriptions=transcriptions, segments_per=segments_per)
        fill_s = time.perf_counter() - started
        try:
            label = f"{total:,} segments"
            search = _median_ms(lambda: engine.transcriptions.list(TranscriptionFilter(search="refund invoice"),
                                                                   limit=50))
            page = _median_ms(lambda: engine.transcriptions.list(TranscriptionFilter(language="de"), limit=50,
                                                                 offset=500))
            one = _median_ms(lambda: engine.transcriptions.get(f"bench-{transcriptions // 2}"))
            talk_time = _median_ms(lambda: store_of(engine).db.fetchall(
                "SELECT speaker, sum(end_s - start_s) FROM segments GROUP BY speaker"))
            count = store_of(engine).db.fetchone("SELECT count(*) FROM segments")[0]
        finally:
            engine.close()
    assert count == total
    return [
        Result("store", f"bulk fill {label}", fill_s, "s", note="SQL-generated fixture"),
        Result("store", f"full-text search over {label}", search, "ms", "< 500 ms", search < 500),
        Result("store", "filtered page (language, offset 500)", page, "ms", "< 100 ms", page < 100),
        Result("store", "get one transcription (100 segments)", one, "ms", "< 50 ms", one < 50),
        Result("store", f"talk time per speaker over {label}", talk_time, "ms", "< 200 ms", talk_time < 200),
    ]
