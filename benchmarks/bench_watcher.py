"""Watch folders: drop-to-COMPLETED latency, a 100-file burst, and the watcher's CPU while idle next to
10,000 already-processed files (inotify and polling)."""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path

from benchmarks.result import Result
from heard_local.config import Settings
from heard_local.domain import JobStatus
from heard_local.engine import Engine
from heard_local.watcher import WatchService
from heard_local.watcher.layout import WatchLayout

# A transcript of a 5-second exchange.
FIVE_SECONDS = """[00:00] Agent: Thanks for calling, how can I help?
[00:02] Customer: My invoice {i} looks wrong.
[00:04] Agent: Let me check that for you.
"""


def _settings(tmp: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp / "data", watch_dir=tmp / "watch", diarization_model=None,
                    ollama_host="http://127.0.0.1:9", **overrides)


@contextmanager
def _watching(settings: Settings) -> Iterator[Engine]:
    engine = Engine.open(settings)
    try:
        engine.add_service(WatchService(engine))
        yield engine
    finally:
        engine.close()


def _wait(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the watcher did not finish in time")
        time.sleep(0.005)


def _drop(folder: Path, name: str, text: str, staging: Path) -> float:
    """Write outside, then rename in (as a finished download lands); returns the drop time (epoch s)."""
    (staging / name).write_text(text, encoding="utf-8")
    dropped = time.time()
    os.replace(staging / name, folder / name)
    return dropped


def _latency(quick: bool) -> list[Result]:
    runs = 3 if quick else 8
    completed, on_disk = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = _settings(tmp)
        staging = tmp / "staging"
        staging.mkdir()
        with _watching(settings) as engine:
            folder = settings.watch_dir / "default"
            for i in range(runs):
                name = f"call-{i}.txt"
                dropped = _drop(folder, name, FIVE_SECONDS.format(i=i), staging)
                result = folder / "processed" / f"{name}.json"
                _wait(result.exists, 60)
                on_disk.append(time.time() - dropped)
                job = engine.jobs.list(limit=1)[0]
                assert job.status is JobStatus.COMPLETED and job.finished_at is not None
                completed.append(job.finished_at.astimezone(UTC).timestamp() - dropped)
    window = settings.watch_stable_seconds
    median_completed = statistics.median(completed)
    return [
        Result("watcher", "drop -> job COMPLETED (5 s transcript, median)", median_completed, "s",
               f"≤ {window + 1:.0f} s", median_completed <= window + 1,
               note=f"includes the {window:.0f} s stability window (watch_stable_seconds); {runs} runs"),
        Result("watcher", "drop -> results in processed/ (median)", statistics.median(on_disk), "s",
               note=".json/.txt/.srt written, file moved"),
    ]


def _burst(quick: bool) -> list[Result]:
    count = 100
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = _settings(tmp)
        staging = tmp / "staging"
        staging.mkdir()
        with _watching(settings):
            folder = settings.watch_dir / "default"
            started = time.time()
            for i in range(count):
                _drop(folder, f"burst-{i:03d}.txt", FIVE_SECONDS.format(i=i), staging)
            processed = folder / "processed"
            _wait(lambda: processed.exists() and len(list(processed.glob("*.txt.json"))) == count, 300)
            elapsed = time.time() - started
    return [Result("watcher", f"{count} files dropped at once: all results on disk", elapsed, "s",
                   note=f"{count / elapsed:.1f} files/s incl. the stability window")]


def _fill_processed(folder: Path, count: int) -> None:
    processed = folder / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (processed / f"old-{i:05d}.wav").write_bytes(b"RIFF")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _idle_cpu_percent(settings: Settings, seconds: float, *, watcher: bool) -> float:
    engine = Engine.open(settings)
    try:
        if watcher:
            engine.add_service(WatchService(engine))
        time.sleep(1.0)  # past the startup scan
        before, started = _cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return 100 * (_cpu_seconds() - before) / (time.monotonic() - started)
    finally:
        engine.close()


def _recursive_polling_percent(root: Path, seconds: float) -> float:
    """What watchdog's recursive polling observer would cost on the same tree (why we do not use it)."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers.polling import PollingObserver

    observer = PollingObserver(timeout=1.0)
    observer.schedule(FileSystemEventHandler(), str(root), recursive=True)
    observer.start()
    try:
        time.sleep(1.0)
        before, started = _cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        return 100 * (_cpu_seconds() - before) / (time.monotonic() - started)
    finally:
        observer.stop()
        observer.join()


def _idle(quick: bool) -> list[Result]:
    files = 10_000
    seconds = 5.0 if quick else 20.0
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = _settings(tmp)
        _fill_processed(settings.watch_dir / "default", files)
        baseline = _idle_cpu_percent(settings, seconds, watcher=False)
        for polling in (False, True):
            mode = "polling" if polling else "inotify"
            total = _idle_cpu_percent(settings.model_copy(update={"watch_polling": polling}), seconds, watcher=True)
            watcher_only = max(0.0, total - baseline)
            results.append(Result("watcher", f"idle CPU, {files:,} files in processed/ ({mode})", watcher_only,
                                  "% of a core", "< 1 %", watcher_only < 1.0,
                                  note=f"process {total:.2f} % minus engine alone {baseline:.2f} %, "
                                       f"over {seconds:.0f} s"))
        started = time.perf_counter()
        scanned = sum(1 for _ in WatchLayout(settings.watch_dir).input_files())
        rescan_ms = 1000 * (time.perf_counter() - started)
        results.append(Result("watcher", "one rescan of the watch root", rescan_ms, "ms",
                              note=f"{scanned} inputs listed; processed/ is never listed"))
        recursive = _recursive_polling_percent(settings.watch_dir, seconds)
        results.append(Result("watcher", "reference: recursive polling of the same tree", recursive, "% of a core",
                              note="what watching processed/ would cost; not used"))
    return results


def run(quick: bool) -> list[Result]:
    return [*_latency(quick), *_burst(quick), *_idle(quick)]

