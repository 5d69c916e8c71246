"""Waiting for the watcher, and reading what it wrote."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 30.0


def wait_until(predicate: Callable[[], Any], *, timeout: float = DEFAULT_TIMEOUT, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def wait_processed(folder: Path, name: str, **kwargs: Any) -> dict[str, Any]:
    """Wait until ``folder/processed/name`` and its results exist; return the Transcription JSON."""
    processed = folder / "processed"
    error_report = folder / "failed" / (name + ".error.json")

    def done() -> bool:
        if error_report.exists():  # fail fast, saying why
            raise AssertionError(f"{name} failed instead: {error_report.read_text(encoding='utf-8')}")
        return all((processed / n).exists() for n in (name, name + ".json", name + ".txt", name + ".srt"))

    wait_until(done, what=f"processed/{name}", **kwargs)
    return json.loads((processed / (name + ".json")).read_text(encoding="utf-8"))


def wait_failed(folder: Path, name: str, **kwargs: Any) -> dict[str, Any]:
    """Wait until ``folder/failed/name`` and its error report exist; return the report."""
    failed = folder / "failed"
    wait_until(lambda: os.path.lexists(failed / name) and (failed / (name + ".error.json")).exists(),
               what=f"failed/{name}", **kwargs)
    return json.loads((failed / (name + ".error.json")).read_text(encoding="utf-8"))


def transcript(turns: int = 3, tag: str = "") -> str:
    lines = []
    for i in range(turns):
        lines.append(f"Agent: Thanks for calling, this is turn {i} {tag}".rstrip())
        lines.append(f"Customer: I have a question about invoice {1000 + i} {tag}".rstrip())
    return "\n".join(lines) + "\n"


def files_in(directory: Path) -> list[str]:
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir())
