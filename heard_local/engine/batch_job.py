"""The batch job's driver: recordings in, a Ray Data pipeline of engine workers, Parquet parts out.

Ray does the distributed part (an actor pool of :class:`RecordingProcessor`, one loaded model per
worker, CPU or GPU; retries; streaming). This module only decides what to process (what the output
does not hold yet, by content hash), builds the dataset and writes each block's rows as it arrives.
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

import heard_local
from heard_local.config import Settings
from heard_local.domain import Configuration
from heard_local.engine.batch_inputs import Recording, collect_recordings
from heard_local.engine.batch_output import BatchOutput
from heard_local.engine.batch_rows import BATCH_TABLES, ExportShapedRows, TableSet, table_from_bytes
from heard_local.errors import InternalError
from heard_local.pipeline.protocols import AudioDecoder

log = logging.getLogger(__name__)

# Attempts of a block whose worker dies (out of memory, a crash) before its recordings become FAILED rows.
DEFAULT_TASK_RETRIES = 3
# Recordings per block (one task, one part file): small enough to spread work and keep finished work
# on a crash, large enough that 100,000 recordings are not 100,000 files.
_MAX_ROWS_PER_BLOCK = 16


@dataclass
class BatchProgress:
    """Where a run stands, after each block (for the CLI's progress bar)."""

    done: int
    total: int
    failed: int
    audio_seconds: float
    elapsed_seconds: float

    @property
    def audio_hours_per_hour(self) -> float:
        return self.audio_seconds / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


@dataclass
class BatchReport:
    output: Path
    recordings: int  # named by the inputs (each content once)
    skipped: int  # already in the output
    completed: int = 0
    failed: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    parts: list[str] = field(default_factory=list)


@dataclass
class BatchOptions:
    ray_address: str | None = None
    num_workers: int = 1
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    task_retries: int = DEFAULT_TASK_RETRIES
    decoder: AudioDecoder | None = None  # None: the media sandbox, as the engine decodes


def _package_root() -> str:
    return str(Path(heard_local.__file__).resolve().parent.parent)


@contextmanager
def ray_cluster(options: BatchOptions) -> Iterator[None]:
    """Connected to ``ray_address``, or to a local cluster started here; a connection the caller made
    already (a notebook, the tests) is used as it is and left open."""
    import ray

    if ray.is_initialized():
        yield
        return
    if options.ray_address:
        ray.init(address=options.ray_address, logging_level=logging.WARNING)
    else:
        # Workers import heard_local from where this process does (a checkout, not only an install).
        path = os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p)
        ray.init(num_cpus=max(1, math.ceil(options.num_workers * options.cpus_per_worker)),
                 num_gpus=math.ceil(options.num_workers * options.gpus_per_worker) or None,
                 include_dashboard=False, logging_level=logging.WARNING,
                 runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        yield
    finally:
        ray.shutdown()


def _rows_per_block(recordings: int, workers: int) -> int:
    return max(1, min(_MAX_ROWS_PER_BLOCK, recordings // (max(1, workers) * 16)))


def _block_tables(batch: dict[str, Any]) -> TableSet:
    return {name: pa.concat_tables([table_from_bytes(data) for data in batch[name]]) for name in BATCH_TABLES}


def run_batch(inputs: Sequence[str | Path], output: Path, *, settings: Settings, configuration: Configuration,
              options: BatchOptions | None = None,
              on_progress: Callable[[BatchProgress], None] | None = None) -> BatchReport:
    """Process every recording of ``inputs`` that ``output`` does not hold yet; returns what happened."""
    options = options or BatchOptions()
    started = time.monotonic()
    store = BatchOutput(output)
    store.prepare()
    recordings = collect_recordings(inputs)
    done = store.content_hashes()
    todo = [r for r in recordings if r.content_sha256 not in done]
    report = BatchReport(output=Path(output), recordings=len(recordings), skipped=len(recordings) - len(todo))
    if on_progress is not None:
        on_progress(BatchProgress(0, len(todo), 0, 0.0, 0.0))
    if todo:
        with ray_cluster(options):
            written = _process(todo, store, settings, configuration, options, report, started, on_progress)
        _fail_the_lost(todo, written, store, configuration, report, attempts=options.task_retries + 1)
    report.wall_seconds = time.monotonic() - started
    return report


def _process(todo: list[Recording], store: BatchOutput, settings: Settings, configuration: Configuration,
             options: BatchOptions, report: BatchReport, started: float,
             on_progress: Callable[[BatchProgress], None] | None) -> set[str]:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the CLI draws its own
    context.max_errored_blocks = -1  # a block whose worker died on every attempt: its rows become FAILED below
    per_block = _rows_per_block(len(todo), options.num_workers)
    dataset = ray.data.from_items([r.as_row() for r in todo], override_num_blocks=math.ceil(len(todo) / per_block))
    with warnings.catch_warnings():
        # Ray 2.60 deprecates passing remote args this way but has no other place yet for the retry bound
        # (its default, retrying forever, would never finish a job with a recording that kills its worker).
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        results = _map(dataset, settings, configuration, options, per_block)
    written: set[str] = set()
    for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
        tables = _block_tables(batch)
        report.parts.append(store.write_block(tables))
        statuses = [str(s) for s in batch["status"]]
        written.update(str(sha) for sha in batch["content_sha256"])
        report.completed += statuses.count("COMPLETED")
        report.failed += statuses.count("FAILED")
        report.audio_seconds += sum(float(s) for s in batch["audio_seconds"] if s is not None and s == s)
        if on_progress is not None:
            on_progress(BatchProgress(report.completed + report.failed, len(todo), report.failed,
                                      report.audio_seconds, time.monotonic() - started))
    return written


def _fail_the_lost(todo: list[Recording], written: set[str], store: BatchOutput, configuration: Configuration,
                   report: BatchReport, *, attempts: int) -> None:
    """Recordings whose block Ray gave up on (its worker died on every attempt): FAILED rows, not gaps."""
    lost = [r for r in todo if r.content_sha256 not in written]
    if not lost:
        return
    rows = ExportShapedRows(configuration)
    try:
        message = (f"The batch worker processing this recording died on every attempt ({attempts}): out of "
                   "memory, or a crash. It was not processed; check the file, then run it again.")
        per_recording = [rows.failed(r, message, InternalError.code) for r in lost]
    finally:
        rows.close()
    report.parts.append(store.write_block({name: pa.concat_tables([t[name] for t in per_recording])
                                           for name in BATCH_TABLES}))
    report.failed += len(lost)
    log.error("%d recording(s) were lost with their workers and are FAILED rows: %s", len(lost),
              ", ".join(r.path for r in lost))


def _map(dataset: Any, settings: Settings, configuration: Configuration, options: BatchOptions,
         per_block: int) -> Any:
    import ray.data

    from heard_local.engine.batch_stage import RecordingProcessor

    return dataset.map_batches(
        RecordingProcessor, fn_constructor_kwargs={"settings": settings, "configuration": configuration,
                                                   "decoder": options.decoder},
        # One block per worker at a time: a worker that dies takes only the block it was running with it,
        # not the ones queued behind it (they would share its retry count).
        batch_size=per_block, compute=ray.data.ActorPoolStrategy(size=options.num_workers,
                                                                  max_tasks_in_flight_per_actor=1),
        num_cpus=options.cpus_per_worker, num_gpus=options.gpus_per_worker or None,
        max_restarts=-1, max_task_retries=options.task_retries)
