"""Nothing is lost across restarts: files dropped while stopped, and jobs still queued at shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.watcher import WatchService
from tests.watcher.conftest import OpenWatcher
from tests.watcher.helpers import files_in, transcript, wait_processed, wait_until

# A watcher process whose engine queues jobs but never runs them, as if it died before getting to them.
_CHILD = """
import time
from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.watcher import WatchService
engine = Engine.open(Settings(), workers=False)
engine.add_service(WatchService(engine))
print("ready", flush=True)
time.sleep(600)
"""


def test_file_dropped_while_stopped_is_picked_up_at_start(engine: Engine, default_folder: Path) -> None:
    (default_folder / "while-down.txt").write_text(transcript(tag="down"), encoding="utf-8")
    (default_folder / "batch").mkdir()
    (default_folder / "batch" / "inside.txt").write_text(transcript(tag="inside"), encoding="utf-8")

    engine.add_service(WatchService(engine))

    wait_processed(default_folder, "while-down.txt")
    wait_processed(default_folder, "batch/inside.txt")
    assert engine.transcriptions.list().total == 2


def test_jobs_queued_at_shutdown_still_land_after_restart(open_watcher: OpenWatcher, default_folder: Path) -> None:
    # No workers: the jobs stay queued, as when the process stops before getting to them.
    engine, watcher = open_watcher(workers=False)
    same = transcript(tag="same")
    (default_folder / "first.txt").write_text(same, encoding="utf-8")
    wait_until(lambda: watcher.status()["processing"] == 1, what="first.txt queued")
    (default_folder / "second.txt").write_text(same, encoding="utf-8")
    (default_folder / "other.txt").write_text(transcript(tag="other"), encoding="utf-8")
    wait_until(lambda: watcher.status()["processing"] == 3, what="all three queued")
    engine.close()
    assert files_in(default_folder) == ["first.txt", "other.txt", "second.txt"]

    engine, _ = open_watcher()

    first = wait_processed(default_folder, "first.txt")
    second = wait_processed(default_folder, "second.txt")
    other = wait_processed(default_folder, "other.txt")
    assert engine.transcriptions.list().total == 2
    assert second["transcription_id"] == first["transcription_id"] != other["transcription_id"]
    processed = default_folder / "processed"
    # Reconnected, not mistaken for duplicates of themselves; the real duplicate stays one.
    assert not (processed / "first.txt.duplicate.json").exists()
    assert not (processed / "other.txt.duplicate.json").exists()
    report = json.loads((processed / "second.txt.duplicate.json").read_text(encoding="utf-8"))
    assert report["duplicate_of"]["transcription_id"] == first["transcription_id"]
    assert files_in(default_folder) == ["processed"]


def test_file_renamed_while_stopped_is_still_the_original(open_watcher: OpenWatcher, default_folder: Path) -> None:
    engine, watcher = open_watcher(workers=False)
    (default_folder / "before.txt").write_text(transcript(tag="rename"), encoding="utf-8")
    wait_until(lambda: watcher.status()["processing"] == 1, what="before.txt queued")
    engine.close()
    (default_folder / "before.txt").rename(default_folder / "after.txt")

    engine, _ = open_watcher()

    result = wait_processed(default_folder, "after.txt")
    assert engine.transcriptions.list().total == 1
    assert result["name"] == "before.txt"
    assert not (default_folder / "processed" / "after.txt.duplicate.json").exists()


def test_watcher_killed_with_a_job_queued(settings: Settings, default_folder: Path, open_watcher: OpenWatcher) -> None:
    env = {**os.environ, "HEARD_DATA_DIR": str(settings.data_dir), "HEARD_WATCH_DIR": str(settings.watch_dir),
           "HEARD_WATCH_STABLE_SECONDS": str(settings.watch_stable_seconds), "HEARD_DIARIZATION_MODEL": "",
           "HEARD_DIARIZER": "off", "HEARD_OLLAMA_HOST": settings.ollama_host}
    child = subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        (default_folder / "call.txt").write_text(transcript(tag="killed"), encoding="utf-8")
        journal = settings.data_dir / "watcher" / "journal.json"
        wait_until(lambda: journal.exists() and "call.txt" in journal.read_text(encoding="utf-8"),
                   what="the file queued by the child")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert (default_folder / "call.txt").exists()

    engine, _ = open_watcher()

    result = wait_processed(default_folder, "call.txt")
    assert engine.transcriptions.list().total == 1
    assert "killed" in (default_folder / "processed" / "call.txt.txt").read_text(encoding="utf-8")
    assert not (default_folder / "processed" / "call.txt.duplicate.json").exists()
    assert result["status"] == "COMPLETED"
