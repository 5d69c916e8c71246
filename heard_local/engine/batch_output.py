"""A batch output directory: Parquet parts under ``transcriptions/``, ``segments/`` and ``fields/``.

The driver writes one part per finished block of recordings as results stream in, so a crash (or
Ctrl-C) keeps everything finished before it. Each part is written under a hidden temp name and then
renamed, and a block's ``transcriptions`` part is renamed last: a recording counts as done only once
its transcription row is there. Parts of a block that never got that far are removed at the next run.

DuckDB and notebooks read it as they read a data directory's exports:
``SELECT * FROM read_parquet('DIR/transcriptions/*.parquet')``.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from heard_local.domain.clock import utcnow
from heard_local.engine.batch_rows import BATCH_TABLES, TableSet

_PART_PREFIX = "part-"


class BatchOutput:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def folder(self, table: str) -> Path:
        return self.directory / table

    def prepare(self) -> None:
        """Create the folders; drop temp files and the parts of blocks whose transcriptions never landed."""
        for table in BATCH_TABLES:
            self.folder(table).mkdir(parents=True, exist_ok=True)
            for leftover in self.folder(table).glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
        finished = {part.name for part in self._parts("transcriptions")}
        for table in BATCH_TABLES[1:]:
            for part in self._parts(table):
                if part.name not in finished:
                    part.unlink(missing_ok=True)

    def _parts(self, table: str) -> list[Path]:
        folder = self.folder(table)
        return sorted(folder.glob(f"{_PART_PREFIX}*.parquet")) if folder.is_dir() else []

    def content_hashes(self) -> set[str]:
        """Content hashes of the recordings already in the output (COMPLETED or FAILED)."""
        hashes: set[str] = set()
        for part in self._parts("transcriptions"):
            hashes.update(v for v in pq.read_table(part, columns=["content_sha256"]).column(0).to_pylist() if v)
        return hashes

    def write_block(self, tables: TableSet) -> str:
        """Write one block's tables as parts of one name; returns that name."""
        name = f"{_PART_PREFIX}{utcnow().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.parquet"
        for table in (*BATCH_TABLES[1:], BATCH_TABLES[0]):  # transcriptions last: it marks the block done
            temp = self.folder(table) / f".{name}.tmp"
            pq.write_table(tables[table], temp, compression="zstd")
            os.replace(temp, self.folder(table) / name)
        return name

    def read(self, table: str) -> pa.Table | None:
        """Every part of ``table`` as one table; None when there is none."""
        parts = self._parts(table)
        if not parts:
            return None
        return pa.concat_tables([pq.read_table(part) for part in parts], promote_options="permissive")
