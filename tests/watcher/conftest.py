"""Fixtures for watch-folder tests: a real engine on a temp data dir, a real watch root under tmp_path,
short stability windows so files settle in a fraction of a second."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.watcher import WatchService

STABLE_SECONDS = 0.4


@pytest.fixture
def polling() -> bool:
    """inotify by default; ``@pytest.mark.parametrize("polling", [False, True])`` runs a test both ways."""
    return False


@pytest.fixture
def settings(settings: Settings, polling: bool) -> Settings:
    return settings.model_copy(update={"watch_stable_seconds": STABLE_SECONDS, "watch_rescan_seconds": 60.0,
                                       "watch_polling": polling})


@pytest.fixture
def default_folder(settings: Settings) -> Path:
    folder = settings.watch_dir / "default"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the watch root on the same filesystem (to move files in from)."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.fixture
def watcher(engine: Engine) -> WatchService:
    """A started watcher on the ``engine`` fixture (engine.close() stops it)."""
    service = WatchService(engine)
    engine.add_service(service)
    return service


OpenWatcher = Callable[..., tuple[Engine, WatchService]]


@pytest.fixture
def open_watcher(settings: Settings) -> Iterator[OpenWatcher]:
    """``open_watcher(workers=True, **setting_overrides)`` -> (engine, watcher), both closed at the end
    (closing one earlier is fine). For restarts and non-default settings."""
    with ExitStack() as stack:

        def start(*, workers: bool = True, **overrides: Any) -> tuple[Engine, WatchService]:
            engine = Engine.open(settings.model_copy(update=overrides), workers=workers)
            stack.callback(engine.close)
            service = WatchService(engine)
            engine.add_service(service)
            return engine, service

        yield start
