"""What a batch job processes: one row per recording, from files, folders or a manifest.

A manifest is a Parquet or CSV file with a ``path`` column and optional metadata columns (the ingest
metadata's own keys: agent_name, caller_phone, customer_email, recorded_at, channel, …). Each row gets
its content hash here, on the driver, so a rerun can skip what the output already holds before any
worker starts, and two copies of one file are processed once.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heard_local.engine.media import sha256_file
from heard_local.errors import ValidationError

log = logging.getLogger(__name__)

MANIFEST_SUFFIXES = (".parquet", ".csv")
# Manifest columns carried to the worker as ingest metadata; any other column is kept as an extra key.
METADATA_COLUMNS = ("agent_name", "caller_phone", "customer_phone", "customer_email", "customer_name",
                    "recorded_at", "channel", "source", "name", "language", "num_speakers")
# Files a folder walk skips: hidden files, and what a recorder or a copy leaves beside the audio.
_SKIPPED_SUFFIXES = {".txt", ".json", ".csv", ".parquet", ".md", ".lst", ".rttm", ".uem", ".yml", ".yaml",
                     ".stm", ".part", ".tmp"}


@dataclass
class Recording:
    """One recording to process: where it is, its content hash and what the caller said about it."""

    path: str
    content_sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        return {"path": self.path, "content_sha256": self.content_sha256,
                "metadata_json": json.dumps(self.metadata, default=str, ensure_ascii=False)}


def _files_under(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() not in _SKIPPED_SUFFIXES:
            yield path


def _manifest_rows(manifest: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    import pyarrow.csv
    import pyarrow.parquet

    if manifest.suffix.lower() == ".parquet":
        table = pyarrow.parquet.read_table(manifest)
    else:
        with open(manifest, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
        # every column as text: phone numbers keep their leading zeros and plus signs
        table = pyarrow.csv.read_csv(manifest, convert_options=pyarrow.csv.ConvertOptions(
            column_types=dict.fromkeys(header, pyarrow.string())))
    if "path" not in table.column_names:
        raise ValidationError(f"The manifest {manifest} has no 'path' column (columns: "
                              f"{', '.join(table.column_names)})", field="input")
    for row in table.to_pylist():
        raw = row.pop("path")
        if raw is None or not str(raw).strip():
            continue
        path = Path(str(raw)).expanduser()
        if not path.is_absolute():
            path = manifest.parent / path  # relative to the manifest, wherever the command runs
        metadata = {key: value for key, value in row.items() if value is not None and value != ""}
        if "num_speakers" in metadata:
            metadata["num_speakers"] = int(metadata["num_speakers"])
        yield path, metadata


def _candidates(inputs: Iterable[str | Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            for found in _files_under(path):
                yield found, {}
        elif path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            yield from _manifest_rows(path)
        elif path.is_file():
            yield path, {}
        else:
            raise ValidationError(f"{path} is not a file, folder or manifest", field="input")


def collect_recordings(inputs: Iterable[str | Path]) -> list[Recording]:
    """Every recording named by ``inputs``, once per content (the first path wins)."""
    recordings: dict[str, Recording] = {}
    for path, metadata in _candidates(inputs):
        if not path.is_file():
            raise ValidationError(f"{path} (named in a manifest) is not a file", field="input")
        sha = sha256_file(path)
        if sha in recordings:
            log.info("%s has the same content as %s; processed once", path, recordings[sha].path)
            continue
        metadata.setdefault("name", path.name[:255])
        recordings[sha] = Recording(path=str(path.resolve()), content_sha256=sha, metadata=metadata)
    return list(recordings.values())
