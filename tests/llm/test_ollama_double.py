"""The scripted Ollama server itself: standalone in another process, with a delay and a script."""

from __future__ import annotations

import subprocess
import sys

import pytest

from heard_local.adapters.ollama import OllamaLlm
from heard_local.config import Settings
from heard_local.domain import Segment
from heard_local.errors import LlmUnavailableError
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import LlmContext
from tests.support.ollama_server import AUTO_TEXT, OllamaServerProcess, instance_from_schema

CONTEXT = LlmContext(segments=[Segment(text="Hello there.", speaker="SPEAKER_00")], language="en")


def test_the_standalone_server_answers_after_its_delay_from_its_script() -> None:
    with OllamaServerProcess(delay=1.0, replies=[{"content": {"summary": "Scripted first."}},
                                                 {"status": 500, "error": "boom"}]) as server:
        patient = OllamaLlm(Settings(ollama_host=server.url, ollama_timeout_seconds=30))
        hasty = OllamaLlm(Settings(ollama_host=server.url, ollama_timeout_seconds=0.2))
        assert patient.health()["status"] == "running"
        with pytest.raises(LlmUnavailableError, match=r"did not answer within 0\.2 s"):
            hasty.summarize(CONTEXT, "en", null_hook)  # consumes the first scripted reply, too late to read it
        with pytest.raises(LlmUnavailableError, match="HTTP 500"):
            patient.summarize(CONTEXT, "en", null_hook)
        assert patient.summarize(CONTEXT, "en", null_hook).summary == AUTO_TEXT  # script done: automatic
    assert server.process.returncode is not None


def test_automatic_answers_satisfy_any_schema_with_nulls_where_allowed() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": ["string", "null"]}, "b": {"type": "string"}, "c": {"type": "array", "items": {}},
        "d": {"type": "object", "properties": {"e": {"type": "integer"}, "f": {"enum": ["X", "Y"]}}}}}
    assert instance_from_schema(schema) == {"a": None, "b": AUTO_TEXT, "c": [], "d": {"e": 0, "f": "X"}}


def test_pipeline_and_domain_never_import_ollama_or_web_frameworks() -> None:
    code = (
        "import sys\n"
        "import heard_local.pipeline.extraction, heard_local.pipeline.summary, heard_local.pipeline.narrative\n"
        "import heard_local.pipeline.evidence, heard_local.pipeline.chunking, heard_local.store.analytics\n"
        "heavy = {'ollama', 'torch', 'fastapi', 'gradio', 'ctranslate2', 'faster_whisper', 'pyannote'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
