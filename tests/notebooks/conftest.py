"""Fixtures for executing the notebooks: a kernel running this interpreter, and a data directory
holding ingested conversations (built once, copied for each notebook run)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from heard_local.engine import Engine
from tests.exports.helpers import ingest_conversations, quiet_settings

KERNEL_NAME = "heard-local-tests"


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Jupyter data dir with a kernelspec for this very interpreter (put on JUPYTER_PATH), so the
    notebooks run in the test's virtualenv whatever kernels the machine has."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "heard-local tests",
        "language": "python",
    }))
    return root


@pytest.fixture(scope="session")
def seeded_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("seeded") / "data"
    with Engine.open(quiet_settings(data_dir)) as engine:
        ingest_conversations(engine)
    return data_dir


@pytest.fixture
def data_dir(seeded_data_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(seeded_data_dir, copy)
    return copy


def audio_pipeline_available() -> bool:
    """The audio stage and the Whisper adapter are built concurrently; CI checks audio once they exist."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("heard_local.engine.audio_stage", "heard_local.adapters.whisper"))


@pytest.fixture(scope="session")
def tiny_whisper_model(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if not audio_pipeline_available():
        return None
    from tests.support.tiny_whisper import build_tiny_whisper

    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A short English utterance spoken by espeak-ng (None where it is not installed)."""
    import subprocess

    if shutil.which("espeak-ng") is None:
        return None
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Hello, I would like to change my address please."],
                   check=True, capture_output=True)
    return path
