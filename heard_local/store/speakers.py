"""A transcription's speakers object (``transcriptions.speakers``: label -> name, role, recognised voice),
read and written in the caller's write transaction: renaming, remembering and forgetting a voice all
change it the same way."""

from __future__ import annotations

from typing import Any

import duckdb

from heard_local.domain.clock import to_db, utcnow
from heard_local.errors import NotFoundError
from heard_local.store.rows import dumps, loads


def read_speakers(cur: duckdb.DuckDBPyConnection, transcription_id: str) -> dict[str, Any]:
    row = cur.execute("SELECT speakers FROM transcriptions WHERE transcription_id = ?", [transcription_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")
    speakers: dict[str, Any] = loads(row[0], {})
    return speakers


def write_speakers(cur: duckdb.DuckDBPyConnection, transcription_id: str, speakers: dict[str, Any]) -> None:
    cur.execute("UPDATE transcriptions SET speakers = ?, updated_at = ? WHERE transcription_id = ?",
                [dumps(speakers), to_db(utcnow()), transcription_id])
