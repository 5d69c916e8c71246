"""What users read, measured on real recordings with ground truth: word error rates and real-time factors
of speech recognition (benchmarks/quality_asr.py) and, where that module exists, diarization error rates
(benchmarks/quality_diarization.py).

    python -m benchmarks quality            # every recording
    python -m benchmarks quality --quick    # a few short ones
    HEARD_WHISPER_MODEL=/models/whisper-small python -m benchmarks quality   # that model as well
"""

from __future__ import annotations

import importlib.util

from benchmarks import quality_asr
from benchmarks.result import Result


def run(quick: bool) -> list[Result]:
    results = quality_asr.run(quick)
    if importlib.util.find_spec("benchmarks.quality_diarization") is not None:
        from benchmarks import quality_diarization  # type: ignore[attr-defined]

        results += quality_diarization.run(quick)
    return results
