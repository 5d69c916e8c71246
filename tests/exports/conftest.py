"""An engine holding the ingested test conversations (see helpers.CONVERSATIONS).

They are ingested once per session; each test gets its own copy of that data directory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from heard_local.engine import Engine
from tests.exports.helpers import ingest_conversations, quiet_settings
from tests.support.real_calls import SeededCalls, seed_real_calls


@dataclass
class Filled:
    engine: Engine
    ids: list[str]


@dataclass(frozen=True)
class Seeded:
    data_dir: Path
    ids: list[str]


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    data_dir = tmp_path_factory.mktemp("seeded-exports") / "data"
    with Engine.open(quiet_settings(data_dir)) as engine:
        ids = ingest_conversations(engine)
    return Seeded(data_dir=data_dir, ids=ids)


@pytest.fixture
def filled(seeded: Seeded, tmp_path: Path) -> Iterator[Filled]:
    data_dir = tmp_path / "filled"
    shutil.copytree(seeded.data_dir, data_dir)
    engine = Engine.open(quiet_settings(data_dir))
    try:
        yield Filled(engine=engine, ids=list(seeded.ids))
    finally:
        engine.close()


@pytest.fixture(scope="session")
def real_calls(tmp_path_factory: pytest.TempPathFactory) -> SeededCalls:
    """Transcripts of real recordings by the real bundled Whisper model (see tests/support/real_calls.py)."""
    return seed_real_calls(tmp_path_factory.mktemp("real-calls") / "data")
