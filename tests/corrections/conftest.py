"""Real transcripts (tests/support/real_calls.py) to correct, and the API on an engine holding a copy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.engine import Engine
from tests.support.real_calls import SeededCalls, real_settings, seed_real_calls


@pytest.fixture(scope="session")
def real_calls(tmp_path_factory: pytest.TempPathFactory) -> SeededCalls:
    return seed_real_calls(tmp_path_factory.mktemp("real-calls") / "data")


@dataclass
class Api:
    engine: Engine
    client: TestClient
    headers: dict[str, str]
    ids: dict[str, str]
    data_dir: Path


@pytest.fixture
def api(real_calls: SeededCalls, tmp_path: Path) -> Iterator[Api]:
    data_dir = real_calls.copy_to(tmp_path / "data")
    engine = Engine.open(real_settings(data_dir))
    key = engine.keys.create("corrections")[1]
    try:
        with TestClient(create_app(engine)) as client:
            yield Api(engine=engine, client=client, headers={"X-API-Key": key}, ids=real_calls.ids,
                      data_dir=data_dir)
    finally:
        engine.close()
