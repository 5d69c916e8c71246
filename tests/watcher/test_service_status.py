"""The watcher reports each folder's last activity (shown in the UI's status tab)."""

from __future__ import annotations

import time
from pathlib import Path

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.watcher import WatchService


def test_status_reports_last_activity_per_folder(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"watch_dir": tmp_path / "watch", "watch_stable_seconds": 0.3})
    (settings.watch_dir / "default").mkdir(parents=True)
    with Engine.open(settings) as engine:
        service = WatchService(engine)
        engine.add_service(service)
        (settings.watch_dir / "default" / "chat.txt").write_text("Agent: hello\nCustomer: hi\n")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            folder = next(f for f in service.status()["folders"] if f["name"] == "default")
            if folder.get("last_outcome") == "processed":
                break
            time.sleep(0.2)
        assert folder["last_file"] == "chat.txt"
        assert folder["processed"] == 1 and folder["failed"] == 0
        assert engine.status()["services"]["WatchService"]["folders"][0]["last_outcome"] == "processed"
