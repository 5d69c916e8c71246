"""Every notebook runs top to bottom with nbclient against a temporary data directory of ingested
conversations: in-process (no server) and while ``heard-local serve`` owns the database. Any error
cell fails the test; committed notebooks carry no outputs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from heard_local.data_dir_lock import is_locked
from heard_local.runtime import running_server
from tests.exports.helpers import REPO_ROOT, live_server, server_env
from tests.notebooks.conftest import KERNEL_NAME, audio_pipeline_available

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
TINY_PHRASE = "hello from the tiny whisper model"

# How each notebook must work: "local" = no server runs (it opens the engine itself, or starts its own
# server), "server" = a heard-local serve owns the data directory while the notebook runs.
RUNS: dict[str, tuple[str, ...]] = {
    "01_quickstart.ipynb": ("local", "server"),
    "02_analytics.ipynb": ("local", "server"),
    "03_api_client.ipynb": ("local", "server"),
}
CASES = [(name, mode) for name in NOTEBOOKS for mode in RUNS.get(name, ("local",))]


def checkout_files() -> set[Path]:
    return {p for p in NOTEBOOK_DIR.rglob("*") if "__pycache__" not in p.parts}


def execute(name: str, workdir: Path) -> nbformat.NotebookNode:
    """Runs the notebook in the notebooks folder, as `jupyter lab notebooks/` would: it must write
    nothing there (the data directory or a temp folder instead)."""
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name=KERNEL_NAME, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    before = checkout_files()
    client.execute()
    assert checkout_files() == before, f"{name} left files in the checkout: {checkout_files() - before}"
    nbformat.write(notebook, workdir / f"executed-{name}")  # kept in the test's tmp dir for debugging
    errors = [o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    return notebook


def output_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the cells printed or displayed as text."""
    parts: list[str] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            elif "data" in output:
                parts.append(str(output["data"].get("text/plain", "")))
    return "\n".join(parts)


def image_count(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", []))


@pytest.fixture
def notebook_env(monkeypatch: pytest.MonkeyPatch, kernel_dir: Path, data_dir: Path, tmp_path: Path,
                 tiny_whisper_model: Path | None, spoken_wav: Path | None) -> dict[str, Any]:
    """The kernel inherits this process's environment: point it at the data directory, the test
    kernelspec, no Ollama, the tiny Whisper model and the spoken test file."""
    extra = {"HEARD_DATA_DIR": str(data_dir)}  # the quickstart's exports go to its default place
    if tiny_whisper_model is not None:
        extra["HEARD_WHISPER_MODEL"] = str(tiny_whisper_model)
    if spoken_wav is not None:
        extra["HEARD_QUICKSTART_AUDIO"] = str(spoken_wav)
    env = server_env(**extra)
    for key in [k for k in os.environ if k.startswith("HEARD_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    return {"data_dir": data_dir, "out": data_dir / "notebook-exports", "env": extra,
            "audio": spoken_wav is not None}


def test_committed_notebooks_have_no_outputs() -> None:
    assert NOTEBOOKS, "no notebooks found"
    for name in NOTEBOOKS:
        notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
        nbformat.validate(notebook)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{name}: commit notebooks without outputs (notebooks/strip_outputs.py)"
                assert cell.execution_count is None, f"{name}: execution counts left in"


def test_every_notebook_is_listed() -> None:
    assert set(RUNS) == set(NOTEBOOKS), "add new notebooks to RUNS with the modes they must work in"


@pytest.mark.parametrize(("name", "mode"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_notebook_runs(name: str, mode: str, notebook_env: dict[str, Any], tmp_path: Path) -> None:
    data_dir: Path = notebook_env["data_dir"]
    if mode == "server":
        with live_server(data_dir, tmp_path / "server.log", **notebook_env["env"]) as info:
            notebook = execute(name, tmp_path)
            # The server kept the database all along; the notebook went through it.
            assert running_server(data_dir) == info
    else:
        notebook = execute(name, tmp_path)
        # Nothing is left holding the data directory (the notebook closed its engine / server).
        assert not is_locked(data_dir / "heard.lock")
    CHECKS.get(name, lambda *_: None)(output_text(notebook), notebook, notebook_env, mode)


def check_quickstart(text: str, notebook: nbformat.NotebookNode, env: dict[str, Any], mode: str) -> None:
    assert f"{mode} session on" in text
    assert "job completed" in text
    assert "[00:02] Agent: Thank you for calling Northwind Bank" in text
    assert "00:00:07.000 --> " in text and "<v Customer>" in text
    written = sorted(p.name for p in env["out"].iterdir())
    assert written == ["quickstart.json", "quickstart.srt", "quickstart.txt", "quickstart.vtt"]
    # The customer's earlier conversations (seeded) and the new one share the email.
    assert "Quickstart: declined card" in text and "Declined card" in text
    if env["audio"] and audio_pipeline_available():
        assert "AUDIO TRANSCRIPT:" in text, text
        assert TINY_PHRASE in text.lower()
    elif env["audio"]:
        assert "AUDIO FAILED" in text or "AUDIO TRANSCRIPT:" in text


def check_analytics(text: str, notebook: nbformat.NotebookNode, env: dict[str, Any], mode: str) -> None:
    assert f"<heard-local {mode} session" in text
    assert "5 conversations, 5 completed" in text
    for label in ("Agent", "Customer"):
        assert label in text
    # talk time bar, volume per day, one plot per extracted field (reason, resolved, amount, products)
    assert image_count(notebook) >= 6
    assert "2024-03-01" in text and "2024-03-03" in text
    assert "3 conversations" in text  # Jordan: email, email+phone, phone -> one customer
    assert "fields.parquet" in text


def check_api_client(text: str, notebook: nbformat.NotebookNode, env: dict[str, Any], mode: str) -> None:
    assert "'status': 'ok'" in text
    assert ("started heard-local serve" in text) == (mode == "local")
    assert "COMPLETED" in text
    # The speaker renamed over the API names the WebVTT voice; cue lines wrap at 42 characters.
    assert "<v Priya>Good morning, Contoso support, Priya\nspeaking.</v>" in text
    assert "move the money to checking" in text and "&amp;" in text
    assert "as expected: NOT_FOUND" in text
    assert "stopped the server this notebook started" in text or mode == "server"


CHECKS = {"01_quickstart.ipynb": check_quickstart, "02_analytics.ipynb": check_analytics,
          "03_api_client.ipynb": check_api_client}


def test_analytics_notebook_on_an_empty_data_directory_says_no_data_yet(
        notebook_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A new user's first run: every plot cell says there is nothing yet instead of drawing empty axes."""
    monkeypatch.setenv("HEARD_DATA_DIR", str(tmp_path / "empty"))
    notebook = execute("02_analytics.ipynb", tmp_path)
    text = output_text(notebook)
    assert "0 conversations, 0 completed" in text
    assert "Talk time per speaker: no data yet." in text and "Conversations per day: no data yet." in text
    assert "No extracted fields yet" in text and "No customers yet" in text
    assert image_count(notebook) == 0
