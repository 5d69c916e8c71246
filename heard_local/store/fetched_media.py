"""Recording where a downloaded ``audio_url`` landed, so a retried job does not download it again and
the transcription points at its media (playback, deletion)."""

from __future__ import annotations

import json

from heard_local.domain.clock import to_db, utcnow
from heard_local.store.database import Database


class FetchedMediaRepo:
    def __init__(self, db: Database):
        self.db = db

    def attach(self, *, job_id: str, transcription_id: str, media_path: str, media_format: str,
               sha256: str) -> None:
        with self.db.write() as cur:
            row = cur.execute("SELECT payload FROM jobs WHERE job_id = ?", [job_id]).fetchone()
            payload = json.loads(row[0]) if row and row[0] else {}
            payload.update(media_path=media_path, format=media_format)
            cur.execute("UPDATE jobs SET payload = ?, content_sha256 = ? WHERE job_id = ?",
                        [json.dumps(payload, ensure_ascii=False), sha256, job_id])
            cur.execute("UPDATE transcriptions SET media_path = ?, content_sha256 = ?, updated_at = ? "
                        "WHERE transcription_id = ?", [media_path, sha256, to_db(utcnow()), transcription_id])
