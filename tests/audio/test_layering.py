"""The audio pipeline's pure modules import no model library (they stay importable and testable alone)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "ctranslate2", "faster_whisper", "pyannote", "av", "gradio", "fastapi", "ollama")


def test_pipeline_modules_import_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import heard_local.pipeline.audio, heard_local.pipeline.align, heard_local.pipeline.asr_guard\n"
        "import heard_local.adapters.channels, heard_local.adapters.diarization\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert loaded == ""
