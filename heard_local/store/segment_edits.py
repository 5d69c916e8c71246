"""Corrections of transcripts: the segments table rewritten, and an undo log beside it.

Every edit stores the segments as they were before it (``segment_edits.before``), in the same transaction
that writes the new ones, so the last edit can always be undone and the first edit's ``before`` is the
recogniser's original output. Search reads the segments table, so an edit is searchable once committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from heard_local.domain import Segment
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.errors import ConflictError, NotFoundError
from heard_local.store.database import Database
from heard_local.store.rows import dumps, insert_rows, loads


@dataclass(frozen=True)
class SegmentEdit:
    seq: int
    kind: str
    segment_index: int
    change: dict[str, Any]
    created_at: datetime | None

    def to_api(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "segment_index": self.segment_index, "change": self.change,
                "created_at": self.created_at.isoformat() if self.created_at else None}


def _dump_segments(segments: list[Segment]) -> str:
    return json.dumps([s.model_dump(mode="json", exclude={"words"}) | {
        "words": [w.model_dump(mode="json") for w in s.words] if s.words is not None else None}
        for s in segments], ensure_ascii=False)


def _load_segments(value: str) -> list[Segment]:
    return [Segment(**item) for item in loads(value, [])]


class SegmentEditRepo:
    def __init__(self, db: Database):
        self.db = db

    def _read(self, cur: duckdb.DuckDBPyConnection, transcription_id: str) -> list[Segment]:
        rows = cur.execute("SELECT text, speaker, start_s, end_s, words FROM segments WHERE transcription_id = ? "
                           "ORDER BY idx", [transcription_id]).fetchall()
        return [Segment(text=r[0], speaker=r[1], start=r[2], end=r[3], words=loads(r[4])) for r in rows]

    def _write(self, cur: duckdb.DuckDBPyConnection, transcription_id: str, segments: list[Segment]) -> None:
        cur.execute("DELETE FROM segments WHERE transcription_id = ?", [transcription_id])
        insert_rows(cur, "segments", ["transcription_id", "idx", "speaker", "text", "start_s", "end_s", "words"], [
            (transcription_id, i, s.speaker, s.text, s.start, s.end,
             dumps([w.model_dump(mode="json") for w in s.words]) if s.words is not None else None)
            for i, s in enumerate(segments)
        ])
        cur.execute("UPDATE transcriptions SET num_speakers = ?, updated_at = ? WHERE transcription_id = ?",
                    [len({s.speaker for s in segments}), to_db(utcnow()), transcription_id])

    def _require_completed(self, cur: duckdb.DuckDBPyConnection, transcription_id: str) -> None:
        row = cur.execute("SELECT status FROM transcriptions WHERE transcription_id = ?",
                          [transcription_id]).fetchone()
        if row is None:
            raise NotFoundError(f"Transcription {transcription_id} not found", field="transcription_id")
        if row[0] != "COMPLETED":
            raise ConflictError(f"Transcription {transcription_id} is {row[0]}; only a completed transcript can "
                                "be corrected", field="transcription_id")

    def apply(self, transcription_id: str, *, kind: str, segment_index: int, change: dict[str, Any],
              edit: Callable[[list[Segment]], list[Segment]]) -> None:
        """Replace the segments by ``edit(current segments)`` and log the edit, in one transaction."""
        with self.db.write() as cur:
            self._require_completed(cur, transcription_id)
            before = self._read(cur, transcription_id)
            after = edit(before)
            row = cur.execute("SELECT coalesce(max(seq), 0) FROM segment_edits WHERE transcription_id = ?",
                              [transcription_id]).fetchone()
            insert_rows(cur, "segment_edits", ["transcription_id", "seq", "kind", "segment_index", "change",
                                               "before", "created_at"], [
                (transcription_id, (row[0] if row else 0) + 1, kind, segment_index, dumps(change),
                 _dump_segments(before), to_db(utcnow()))])
            self._write(cur, transcription_id, after)

    def undo(self, transcription_id: str, *, all_edits: bool = False) -> int:
        """Undo the last edit (``all_edits``: every edit, back to the original); returns how many."""
        with self.db.write() as cur:
            self._require_completed(cur, transcription_id)
            rows = cur.execute("SELECT seq, \"before\" FROM segment_edits WHERE transcription_id = ? "
                               "ORDER BY seq", [transcription_id]).fetchall()
            if not rows:
                raise ConflictError("This transcript has no corrections to undo", field="transcription_id")
            seq, before = rows[0] if all_edits else rows[-1]
            cur.execute("DELETE FROM segment_edits WHERE transcription_id = ? AND seq >= ?", [transcription_id, seq])
            self._write(cur, transcription_id, _load_segments(before))
            return len(rows) if all_edits else 1

    def history(self, transcription_id: str) -> list[SegmentEdit]:
        rows = self.db.fetchall("SELECT seq, kind, segment_index, change, created_at FROM segment_edits "
                                "WHERE transcription_id = ? ORDER BY seq", [transcription_id])
        return [SegmentEdit(seq=r[0], kind=r[1], segment_index=r[2], change=loads(r[3], {}),
                            created_at=from_db(r[4])) for r in rows]

    def original(self, transcription_id: str) -> list[Segment] | None:
        """The segments before the first correction (None: never corrected)."""
        row = self.db.fetchone("SELECT \"before\" FROM segment_edits WHERE transcription_id = ? ORDER BY seq "
                               "LIMIT 1", [transcription_id])
        return _load_segments(row[0]) if row else None
