"""Redaction precision and recall on espeak-ng test calls (benchmarks/redaction_quality.py)."""

from __future__ import annotations

from benchmarks import redaction_quality
from benchmarks.result import Result


def run(quick: bool) -> list[Result]:
    return redaction_quality.run(quick)
