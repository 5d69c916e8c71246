"""The spans a configuration's ``redact`` took out of each transcript (kind, segment, offsets, times)."""

from __future__ import annotations

import duckdb

from heard_local.domain import RedactedSpan, RedactKind
from heard_local.store.database import Database
from heard_local.store.rows import insert_rows


class RedactionRepo:
    def __init__(self, db: Database):
        self.db = db

    def save(self, cur: duckdb.DuckDBPyConnection, transcription_id: str, spans: list[RedactedSpan]) -> None:
        cur.execute("DELETE FROM redactions WHERE transcription_id = ?", [transcription_id])
        insert_rows(cur, "redactions", ["transcription_id", "position", "kind", "segment_index", "char_start",
                                        "char_end", "start_s", "end_s"], [
            (transcription_id, i, s.kind.value, s.segment_index, s.char_start, s.char_end, s.start, s.end)
            for i, s in enumerate(spans)])

    def spans(self, transcription_id: str) -> list[RedactedSpan]:
        rows = self.db.fetchall("SELECT kind, segment_index, char_start, char_end, start_s, end_s FROM redactions "
                                "WHERE transcription_id = ? ORDER BY position", [transcription_id])
        return [RedactedSpan(kind=RedactKind(r[0]), segment_index=r[1], char_start=r[2], char_end=r[3], start=r[4],
                             end=r[5]) for r in rows]
