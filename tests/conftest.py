"""Fixtures shared by every test: a fresh data directory, an engine on it, the shared real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from heard_local.config import Settings
from heard_local.engine import Engine

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_data_path(*parts: str) -> Path:
    """A file of ../shared/data. Skips the test where it is absent (a user's machine) and fails it
    when HEARD_REQUIRE_SHARED=1 (CI), so CI can never pass by skipping."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"shared test data missing: {path}"
        if os.environ.get("HEARD_REQUIRE_SHARED") == "1":
            pytest.fail(message + " (HEARD_REQUIRE_SHARED=1)")
        pytest.skip(message)
    return path


@pytest.fixture
def shared_data() -> type:
    """``shared_data("pyannote-audio", "sample.wav")`` -> Path (skip/fail rules above)."""
    return shared_data_path  # type: ignore[return-value]


@pytest.fixture
def nothing_downloaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh machine: no model in the Hugging Face cache (an empty one), and no network (HF_HUB_OFFLINE=1
    above), so the default Whisper model cannot be had, whatever this machine downloaded before."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data directory, with no real model or Ollama server behind them."""
    return Settings(
        data_dir=tmp_path / "data",
        watch_dir=tmp_path / "watch",
        ollama_host="http://127.0.0.1:9",  # nothing listens on the discard port
        ollama_timeout_seconds=2.0,
        diarization_model=None,
        diarizer="off",
        retry_base_seconds=0.05,
        retry_max_seconds=0.2,
        model_idle_unload_seconds=3600,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = Engine.open(settings)
    try:
        yield eng
    finally:
        eng.close()
