"""``heard-local export``: transcripts as files, fields as CSV, every table as Parquet.

    heard-local export transcript ID [ID…] [--format txt|json|srt|vtt] [-o FILE_OR_DIR]
    heard-local export transcript --all --format srt -o subtitles/
    heard-local export fields [--configuration TAG_OR_ID] [--layout wide|long] [--excel] [-o FILE]
    heard-local export parquet [-o DIR]

Works with or without a running server (see :mod:`heard_local.cli.session`). Data goes to stdout
or the named file; messages go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from heard_local.cli.session import open_client, settings_from_args
from heard_local.domain import Transcription
from heard_local.errors import ValidationError
from heard_local.exports.fields_csv import LAYOUTS
from heard_local.exports.transcript_formats import FORMATS, export_filename, render, require_transcript


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # newline="" keeps CSV's CRLF line ends exactly as written.
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _unique(directory: Path, filename: str, transcription_id: str, taken: set[Path]) -> Path:
    path = directory / filename
    if path in taken:
        stem, _, ext = filename.rpartition(".")
        path = directory / f"{stem}-{transcription_id[:8]}.{ext}"
    taken.add(path)
    return path


def export_transcripts(client: Any, args: argparse.Namespace) -> int:
    ids: list[str] = list(args.transcription_ids)
    if args.all:
        ids += [tid for tid in client.completed_transcription_ids() if tid not in ids]
    if not ids:
        raise ValidationError("Name at least one transcription id, or use --all", field="transcription_id")
    bulk = args.all or len(ids) > 1
    out = Path(args.output) if args.output else None
    if not bulk:
        transcription = Transcription.model_validate(client.transcription(ids[0]))
        require_transcript(transcription, args.format)
        text = render(transcription, args.format)
        if out is None:
            sys.stdout.write(text)
            return 0
        path = out / export_filename(transcription, args.format) if out.is_dir() else out
        _write(path, text)
        print(path)
        return 0
    if out is None:
        raise ValidationError("Exporting several transcriptions needs --output DIR", field="output")
    out.mkdir(parents=True, exist_ok=True)
    taken: set[Path] = set()
    skipped = 0
    for tid in ids:
        transcription = Transcription.model_validate(client.transcription(tid))
        if args.format != "json" and transcription.details is None:
            _err(f"{tid}: {transcription.status.value}, nothing to export yet; skipped")
            skipped += 1
            continue
        path = _unique(out, export_filename(transcription, args.format), tid, taken)
        _write(path, render(transcription, args.format))
        print(path, flush=True)
    _err(f"Exported {len(ids) - skipped} transcription(s) as {args.format} to {out}")
    return 0


def export_fields(client: Any, args: argparse.Namespace) -> int:
    text = client.fields_csv(args.configuration, layout=args.layout, excel=args.excel)
    if args.output:
        _write(Path(args.output), text)
        print(args.output)
    else:
        sys.stdout.write(text)
    return 0


def export_parquet(client: Any, args: argparse.Namespace) -> int:
    manifest = client.export_parquet(Path(args.output)) if args.output else client.refresh_parquet()
    for table in manifest["tables"].values():
        _err(f"  {table['file']:28} {table['rows']:>9} rows")
    _err(f"Snapshot of {manifest['exported_at']} in {manifest['directory']}")
    print(manifest["directory"])
    return 0


def add_export_command(sub: Any, *, add_location: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``export`` on the CLI's sub-parsers."""
    export = sub.add_parser("export", help="transcripts as JSON/TXT/SRT/VTT, fields as CSV, tables as Parquet")
    export_sub = export.add_subparsers(dest="export_command", required=True, metavar="WHAT")

    transcript = export_sub.add_parser("transcript", help="one or more transcriptions as files")
    transcript.add_argument("transcription_ids", nargs="*", metavar="ID")
    transcript.add_argument("--all", action="store_true", help="every completed transcription")
    transcript.add_argument("--format", choices=FORMATS, default="txt")
    transcript.add_argument("-o", "--output", help="file (one transcription) or directory (several); "
                            "default stdout")
    add_location(transcript)

    fields = export_sub.add_parser("fields", help="extracted fields of completed conversations as CSV")
    fields.add_argument("--configuration", help="configuration tag or id (default: all)")
    fields.add_argument("--layout", choices=LAYOUTS, default="wide",
                        help="wide: a row per conversation (default); long: a row per conversation and field")
    fields.add_argument("--excel", action="store_true",
                        help="for spreadsheets: UTF-8 byte-order mark, formula-safe cells")
    fields.add_argument("-o", "--output", help="CSV file (default stdout)")
    add_location(fields)

    parquet = export_sub.add_parser("parquet", help="every table as a Parquet file (for BI tools)")
    parquet.add_argument("-o", "--output", help="directory (default: the data directory's exports/, refreshed)")
    add_location(parquet)

    handlers = {"transcript": export_transcripts, "fields": export_fields, "parquet": export_parquet}

    def run(args: argparse.Namespace) -> int:
        with open_client(settings_from_args(args), workers=False) as client:
            return handlers[args.export_command](client, args)

    export.set_defaults(func=run)
