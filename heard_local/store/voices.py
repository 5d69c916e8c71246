"""Voiceprints of each audio conversation's speakers, and the voice profiles remembered from them.

Vectors are DuckDB ``FLOAT[256]`` arrays, L2-normalised, so ``array_inner_product`` is the cosine
similarity. They are read here and nowhere else: no export, snapshot or webhook selects these tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np

from heard_local.domain import SpeakerInfo
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.domain.voice import VoiceAppearance, Voiceprint, VoiceProfile
from heard_local.errors import NotFoundError
from heard_local.store.database import Database
from heard_local.store.rows import insert_rows, loads
from heard_local.store.speakers import read_speakers, write_speakers

_PROFILE_COLUMNS = ("voice_id, name, role, samples, speech_seconds, source_transcription_id, source_speaker, "
                    "created_at, updated_at")


def _vector(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float32)


def _profile(row: tuple[Any, ...]) -> VoiceProfile:
    voice_id, name, role, samples, seconds, source_tid, source_speaker, created_at, updated_at = row
    return VoiceProfile(voice_id=voice_id, name=name, role=role, samples=samples, speech_seconds=seconds,
                        source_transcription_id=source_tid, source_speaker=source_speaker,
                        created_at=from_db(created_at) or utcnow(), updated_at=from_db(updated_at))


class VoiceRepo:
    def __init__(self, db: Database):
        self.db = db

    # --- voiceprints of conversations -------------------------------------------------------------

    def save_voiceprints(self, cur: duckdb.DuckDBPyConnection, transcription_id: str,
                         prints: Mapping[str, Voiceprint]) -> None:
        cur.execute("DELETE FROM speaker_voiceprints WHERE transcription_id = ?", [transcription_id])
        now = to_db(utcnow())
        insert_rows(cur, "speaker_voiceprints",
                    ["transcription_id", "speaker", "embedding", "speech_seconds", "created_at"],
                    [(transcription_id, speaker, p.vector.tolist(), p.speech_seconds, now)
                     for speaker, p in prints.items()])

    def voiceprint(self, transcription_id: str, speaker: str) -> Voiceprint | None:
        row = self.db.fetchone("SELECT embedding, speech_seconds FROM speaker_voiceprints "
                               "WHERE transcription_id = ? AND speaker = ?", [transcription_id, speaker])
        return Voiceprint(vector=_vector(row[0]), speech_seconds=row[1]) if row else None

    def speakers_with_voiceprints(self, transcription_id: str) -> list[str]:
        rows = self.db.fetchall("SELECT speaker FROM speaker_voiceprints WHERE transcription_id = ? "
                                "ORDER BY speaker", [transcription_id])
        return [r[0] for r in rows]

    def count_voiceprints(self, transcription_id: str | None = None) -> int:
        where, params = ("WHERE transcription_id = ?", [transcription_id]) if transcription_id else ("", [])
        row = self.db.fetchone(f"SELECT count(*) FROM speaker_voiceprints {where}", params)
        return int(row[0]) if row else 0

    # --- profiles ---------------------------------------------------------------------------------

    def profile_vectors(self) -> dict[str, np.ndarray]:
        return {r[0]: _vector(r[1]) for r in self.db.fetchall("SELECT voice_id, embedding FROM voice_profiles")}

    def profiles_named(self, voice_ids: list[str]) -> dict[str, VoiceProfile]:
        if not voice_ids:
            return {}
        marks = ", ".join("?" for _ in voice_ids)
        rows = self.db.fetchall(f"SELECT {_PROFILE_COLUMNS} FROM voice_profiles WHERE voice_id IN ({marks})",
                                voice_ids)
        return {r[0]: _profile(r) for r in rows}

    def remember(self, *, name: str, role: str | None, print_: Voiceprint, transcription_id: str,
                 speaker: str) -> tuple[VoiceProfile, bool]:
        """A new profile, or this voice added to the profile of the same name (case-insensitive): its vector
        becomes the mean of the voiceprints remembered under it. Returns (profile, created)."""
        now = to_db(utcnow())
        with self.db.write() as cur:
            row = cur.execute("SELECT voice_id, embedding, samples FROM voice_profiles WHERE lower(name) = lower(?) "
                              "ORDER BY created_at LIMIT 1", [name]).fetchone()
            if row is None:
                voice_id = "voice_" + uuid.uuid4().hex
                insert_rows(cur, "voice_profiles", [
                    "voice_id", "name", "role", "embedding", "samples", "speech_seconds", "source_transcription_id",
                    "source_speaker", "created_at", "updated_at"],
                    [(voice_id, name, role, print_.vector.tolist(), 1, print_.speech_seconds, transcription_id,
                      speaker, now, now)])
            else:
                voice_id, old, samples = row[0], _vector(row[1]), int(row[2])
                mean = old * samples + print_.vector
                mean /= float(np.linalg.norm(mean)) or 1.0
                cur.execute("UPDATE voice_profiles SET embedding = ?, samples = samples + 1, "
                            "speech_seconds = speech_seconds + ?, role = coalesce(?, role), updated_at = ? "
                            "WHERE voice_id = ?", [mean.tolist(), print_.speech_seconds, role, now, voice_id])
        return self.get(voice_id), row is None

    def get(self, voice_id: str) -> VoiceProfile:
        row = self.db.fetchone(f"SELECT {_PROFILE_COLUMNS} FROM voice_profiles WHERE voice_id = ?", [voice_id])
        if row is None:
            raise NotFoundError(f"Voice {voice_id} not found", field="voice_id")
        return _profile(row)

    def profiles(self) -> list[VoiceProfile]:
        rows = self.db.fetchall(f"SELECT {_PROFILE_COLUMNS} FROM voice_profiles ORDER BY lower(name), created_at")
        return [_profile(r) for r in rows]

    def count_profiles(self) -> int:
        row = self.db.fetchone("SELECT count(*) FROM voice_profiles")
        return int(row[0]) if row else 0

    def delete(self, voice_id: str) -> None:
        """Forget a profile: its vector, and the name it put on the speakers it recognised."""
        with self.db.write() as cur:
            if cur.execute("SELECT 1 FROM voice_profiles WHERE voice_id = ?", [voice_id]).fetchone() is None:
                raise NotFoundError(f"Voice {voice_id} not found", field="voice_id")
            cur.execute("DELETE FROM voice_profiles WHERE voice_id = ?", [voice_id])
            rows = cur.execute("SELECT transcription_id, speakers FROM transcriptions "
                               "WHERE contains(CAST(speakers AS VARCHAR), ?)", [voice_id]).fetchall()
            for transcription_id, speakers_json in rows:
                speakers = loads(speakers_json, {})
                for info in speakers.values():
                    if info.get("voice_id") == voice_id:
                        info.update(voice_id=None, similarity=None, name=None)
                write_speakers(cur, transcription_id, speakers)

    def label_speaker(self, transcription_id: str, speaker: str, info: SpeakerInfo) -> None:
        with self.db.write() as cur:
            speakers = read_speakers(cur, transcription_id)
            speakers[speaker] = info.model_dump()
            write_speakers(cur, transcription_id, speakers)

    def forget_source(self, cur: duckdb.DuckDBPyConnection, transcription_id: str) -> None:
        """A deleted transcription's voiceprints go with it; profiles remembered from it stay (the user
        asked for them) but no longer point at it."""
        cur.execute("DELETE FROM speaker_voiceprints WHERE transcription_id = ?", [transcription_id])
        cur.execute("UPDATE voice_profiles SET source_transcription_id = NULL, source_speaker = NULL "
                    "WHERE source_transcription_id = ?", [transcription_id])

    def appearances(self, voice_id: str, threshold: float, limit: int = 200) -> list[VoiceAppearance]:
        """Conversations with a speaker whose voiceprint reaches ``threshold`` against the profile, most
        similar first (one row per conversation: its most similar speaker)."""
        self.get(voice_id)
        rows = self.db.fetchall(
            """SELECT transcription_id, name, speaker, similarity, created_at FROM (
                   SELECT v.transcription_id, t.name, v.speaker, t.created_at,
                          array_inner_product(v.embedding, p.embedding) AS similarity,
                          row_number() OVER (PARTITION BY v.transcription_id
                                             ORDER BY array_inner_product(v.embedding, p.embedding) DESC) AS rank
                   FROM speaker_voiceprints v JOIN transcriptions t USING (transcription_id)
                   CROSS JOIN (SELECT embedding FROM voice_profiles WHERE voice_id = ?) p)
               WHERE rank = 1 AND similarity >= ? ORDER BY similarity DESC LIMIT ?""",
            [voice_id, threshold, limit])
        return [VoiceAppearance(transcription_id=r[0], name=r[1], speaker=r[2], similarity=round(float(r[3]), 4),
                                created_at=from_db(r[4])) for r in rows]
