"""How fast each speech model runs on this machine: the real-time factor behind job estimates.

Each finished audio job adds its audio and wall seconds to a per-model running total that decays, so
the factor follows the machine's current speed (another app hogging the CPU, a model change) rather
than averaging over its whole history.
"""

from __future__ import annotations

from heard_local.domain.clock import to_db, utcnow
from heard_local.store.database import Database

# Weight kept by the history at each new measurement: about the last ten jobs count.
DECAY = 0.9


class ModelSpeedRepo:
    def __init__(self, db: Database):
        self.db = db

    def record(self, model: str, audio_seconds: float, wall_seconds: float) -> None:
        if audio_seconds <= 0 or wall_seconds < 0:
            return
        with self.db.write() as cur:
            row = cur.execute("SELECT audio_s, wall_s FROM model_speed WHERE model = ?", [model]).fetchone()
            audio, wall = (DECAY * row[0] + audio_seconds, DECAY * row[1] + wall_seconds) if row else (
                audio_seconds, wall_seconds)
            cur.execute(
                "INSERT OR REPLACE INTO model_speed (model, audio_s, wall_s, updated_at) VALUES (?, ?, ?, ?)",
                [model, audio, wall, to_db(utcnow())],
            )

    def real_time_factor(self, model: str) -> float | None:
        """Wall seconds per audio second, or None before the first measurement."""
        row = self.db.fetchone("SELECT audio_s, wall_s FROM model_speed WHERE model = ?", [model])
        if row is None or not row[0]:
            return None
        return float(row[1]) / float(row[0])
