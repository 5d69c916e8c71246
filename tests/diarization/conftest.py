"""Fixtures shared by the diarizer tests that score against ../shared/data's ground truth."""

from __future__ import annotations

import pytest


@pytest.fixture
def truth(shared_data: type) -> None:
    """The AMI excerpts' RTTMs (and so the recordings): skips where ../shared is absent, fails in CI."""
    shared_data("pyannote-audio", "tests-data", "debug.test.rttm")
