"""Filling a data directory with many conversations fast (SQL-generated), for benchmarks."""

from __future__ import annotations

from pathlib import Path

from heard_local.config import Settings
from heard_local.engine import Engine
from tests.support.engine_internals import store_of

WORDS = ("account", "card", "billing", "refund", "order", "delivery", "password", "upgrade", "cancel",
         "invoice", "payment", "plan", "agent", "customer", "thanks", "please", "help", "issue", "problem",
         "working", "today", "tomorrow")


def fill(engine: Engine, *, transcriptions: int, segments_per: int) -> None:
    """Insert ``transcriptions`` completed transcriptions × ``segments_per`` segments in bulk."""
    configuration_id = engine.configurations.default_id
    words = "[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    with store_of(engine).db.write() as cur:
        cur.execute(f"""
            INSERT INTO transcriptions (transcription_id, configuration_id, kind, status, name, duration, language,
                                        num_speakers, channel, source, metadata, speakers, warnings, llm_status,
                                        created_at, started_at, completed_at, updated_at)
            SELECT 'bench-' || i, '{configuration_id}', 'transcript', 'COMPLETED', 'call ' || i,
                   30 + (i * 37) % 1800, CASE WHEN i % 5 = 0 THEN 'de' ELSE 'en' END, 2,
                   CASE WHEN i % 3 = 0 THEN 'voice' ELSE 'chat' END, 'bench', '{{}}', '{{}}', '[]', 'not_requested',
                   TIMESTAMP '2026-01-01' + INTERVAL (i % 300) DAY, TIMESTAMP '2026-01-01' + INTERVAL (i % 300) DAY,
                   TIMESTAMP '2026-01-01' + INTERVAL (i % 300) DAY, TIMESTAMP '2026-01-01'
            FROM range({transcriptions}) t(i)
        """)
        cur.execute(f"""
            INSERT INTO segments (transcription_id, idx, speaker, text, start_s, end_s, words)
            SELECT 'bench-' || t.i, s.j, 'SPEAKER_0' || (s.j % 2),
                   list_aggregate(list_transform(range(12),
                                                 lambda k: {words}[1 + ((t.i * 31 + s.j * 7 + k * 13) % {len(WORDS)})]),
                                  'string_agg', ' '),
                   s.j * 3.0, s.j * 3.0 + 2.5, NULL
            FROM range({transcriptions}) t(i), range({segments_per}) s(j)
        """)


def open_filled(data_dir: Path, *, transcriptions: int, segments_per: int) -> Engine:
    engine = Engine.open(Settings(data_dir=data_dir, diarization_model=None), workers=False)
    fill(engine, transcriptions=transcriptions, segments_per=segments_per)
    store_of(engine).db.checkpoint()
    return engine
