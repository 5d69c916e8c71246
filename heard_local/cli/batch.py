"""``heard-local batch`` (a backlog as a Ray batch job) and ``heard-local import`` (its output, brought home).

    heard-local batch calls/ manifest.csv --output results/ [--num-workers 4] [--ray-address ray://head:10001]
    heard-local import results/ [--data-dir D]

``batch`` needs the ``cluster`` extra (``pip install "heard-local[cluster]"``). The configuration and
the model settings come from the data directory and the ``HEARD_`` environment, as for ``serve``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heard_local.cli.session import open_client, settings_from_args
from heard_local.domain import Configuration
from heard_local.errors import NotFoundError, ValidationError

_BAR_WIDTH = 24


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _configuration(settings: Any, tag_or_id: str | None) -> Configuration:
    """The configuration the batch runs with, by id or tag (the default one when none is named)."""
    with open_client(settings, workers=False) as client:
        configurations = client.configurations()
    for item in configurations:
        if (tag_or_id is None and item.get("is_default")) or (tag_or_id is not None and (
                item["configuration_id"] == tag_or_id or (item.get("tag") or "").lower() == tag_or_id.lower())):
            return Configuration.model_validate(item)
    raise NotFoundError(f"No configuration has the id or tag {tag_or_id!r}", field="configuration")


def progress_line(done: int, total: int, failed: int, audio_seconds: float, elapsed: float) -> str:
    """``[#####-----] 6/16 recordings, 1 failed, 0.25 h of audio, 12.3 audio h/h, 41 s``."""
    filled = _BAR_WIDTH if total == 0 else round(_BAR_WIDTH * done / total)
    rate = audio_seconds / elapsed if elapsed > 0 else 0.0
    line = f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {done}/{total} recordings"
    if failed:
        line += f", {failed} failed"
    return line + f", {audio_seconds / 3600:.2f} h of audio, {rate:.1f} audio h/h, {elapsed:.0f} s"


def _progress_printer() -> Callable[[Any], None]:
    interactive = sys.stderr.isatty()

    def show(progress: Any) -> None:
        line = progress_line(progress.done, progress.total, progress.failed, progress.audio_seconds,
                             progress.elapsed_seconds)
        if interactive:
            print("\r" + line.ljust(100), end="" if progress.done < progress.total else "\n", file=sys.stderr,
                  flush=True)
        else:
            _err(line)

    return show


def cmd_batch(args: argparse.Namespace) -> int:
    try:
        import ray  # noqa: F401
    except ImportError:
        _err('heard-local batch needs Ray: pip install "heard-local[cluster]"')
        return 1
    from heard_local.engine.batch_job import BatchOptions, run_batch

    if args.num_workers < 1:
        raise ValidationError("--num-workers must be at least 1", field="num_workers")
    settings = settings_from_args(args)
    configuration = _configuration(settings, args.configuration)
    options = BatchOptions(ray_address=args.ray_address, num_workers=args.num_workers,
                           cpus_per_worker=args.cpus_per_worker, gpus_per_worker=args.gpus_per_worker)
    started = time.monotonic()
    report = run_batch(args.inputs, Path(args.output).expanduser().resolve(), settings=settings,
                       configuration=configuration, options=options, on_progress=_progress_printer())
    _err(f"{report.recordings} recording(s): {report.skipped} already in {report.output}, {report.completed} "
         f"completed, {report.failed} failed, in {time.monotonic() - started:.0f} s")
    print(report.output)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from heard_local.engine import Engine
    from heard_local.engine.batch_import import import_batch_output

    directory = Path(args.directory).expanduser().resolve()
    if not directory.is_dir():
        raise ValidationError(f"{directory} is not a directory", field="directory")
    with Engine.open(settings_from_args(args), workers=False) as engine:
        report = import_batch_output(engine, directory, configuration=args.configuration)
    _err(f"Imported {report.imported} transcription(s) ({report.failed} FAILED in the batch); "
         f"{report.duplicates} already in the data directory, skipped")
    return 0


def add_batch_commands(sub: Any, *, add_location: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``batch`` and ``import`` on the CLI's sub-parsers."""
    batch = sub.add_parser("batch", help="process a backlog of recordings as a Ray batch job, results as Parquet")
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="audio files, folders, or a Parquet/CSV manifest with a path column and metadata columns")
    batch.add_argument("-o", "--output", required=True, metavar="DIR",
                       help="output directory (rerunning into it skips what it holds)")
    batch.add_argument("--ray-address", help="an existing Ray cluster (default: start one on this machine)")
    batch.add_argument("--configuration", help="configuration tag or id (default: the default configuration)")
    batch.add_argument("--num-workers", type=int, default=1, help="workers, each with its own loaded models")
    batch.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs Ray reserves per worker")
    batch.add_argument("--gpus-per-worker", type=float, default=0.0,
                       help="GPUs per worker (Whisper then runs on CUDA; fractions share a GPU)")
    add_location(batch)
    batch.set_defaults(func=cmd_batch)

    load = sub.add_parser("import", help="load a batch output into the data directory (customers linked, "
                          "duplicates skipped)")
    load.add_argument("directory", metavar="DIR")
    load.add_argument("--configuration", help="configuration tag or id to file them under (default: the batch's)")
    add_location(load)
    load.set_defaults(func=cmd_import)
