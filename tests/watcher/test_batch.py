"""A hundred files dropped at once: every one processed, none twice."""

from __future__ import annotations

import json
from pathlib import Path

from heard_local.engine import Engine
from heard_local.watcher import WatchService
from tests.watcher.helpers import transcript, wait_until

COUNT = 100


def test_hundred_files_at_once(engine: Engine, watcher: WatchService, default_folder: Path, outside: Path) -> None:
    staging = outside / "export"
    staging.mkdir()
    names = [f"call-{i:03d}.txt" for i in range(COUNT)]
    for i, name in enumerate(names):
        (staging / name).write_text(transcript(turns=2, tag=f"call {i}"), encoding="utf-8")
    # Half arrive as one burst of renames, half are written in place.
    for name in names[: COUNT // 2]:
        (staging / name).rename(default_folder / name)
    for i, name in enumerate(names[COUNT // 2:], start=COUNT // 2):
        (default_folder / name).write_text(transcript(turns=2, tag=f"call {i}"), encoding="utf-8")

    processed = default_folder / "processed"
    wait_until(lambda: processed.exists() and len(list(processed.glob("*.txt.json"))) == COUNT,
               timeout=90, what=f"{COUNT} results")
    wait_until(lambda: watcher.status()["processing"] == 0, what="nothing left in flight")

    assert sorted(p.name for p in processed.iterdir()) == sorted(
        f"{name}{suffix}" for name in names for suffix in ("", ".json", ".txt", ".srt"))
    ids = {json.loads((processed / f"{name}.json").read_text())["transcription_id"] for name in names}
    assert len(ids) == COUNT
    assert engine.transcriptions.list(limit=1000).total == COUNT
    assert not (default_folder / "failed").exists()
    for i in (0, 57, 99):
        assert f"call {i}" in (processed / f"call-{i:03d}.txt.txt").read_text(encoding="utf-8")
