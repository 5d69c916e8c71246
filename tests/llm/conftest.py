"""Fixtures for the LLM stage: the scripted Ollama server and an engine that talks to it over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from heard_local.config import Settings
from heard_local.domain import Transcription
from heard_local.engine import Engine
from tests.support.ollama_server import OllamaTestServer, user_text


@pytest.fixture
def ollama() -> Iterator[OllamaTestServer]:
    with OllamaTestServer() as server:
        yield server


@pytest.fixture
def llm_settings(settings: Settings, ollama: OllamaTestServer) -> Settings:
    return settings.model_copy(update={"ollama_host": ollama.url, "ollama_timeout_seconds": 5.0})


@pytest.fixture
def llm_engine(llm_settings: Settings) -> Iterator[Engine]:
    engine = Engine.open(llm_settings)
    try:
        yield engine
    finally:
        engine.close()


def task_of(request: dict[str, Any]) -> str:
    """Which stage sent a chat request: "extraction", "summary" or "narrative" (by its schema)."""
    properties = (request.get("format") or {}).get("properties", {})
    if "executive_summary" in properties:
        return "narrative"
    if set(properties) == {"summary"}:
        return "summary"
    return "extraction"


def marker_in(request: dict[str, Any], pattern: str = r"CONV-\d+") -> str | None:
    found = re.search(pattern, user_text(request))
    return found.group(0) if found else None


def field_answer(value: Any, *quotes: tuple[str, int]) -> dict[str, Any]:
    """One field of an extraction answer, in the shape the schema asks for."""
    return {"evidence": [{"segment": segment, "quote": quote} for quote, segment in quotes], "value": value}


def run_transcript(engine: Engine, text: str, configuration_id: str | None = None, **metadata: Any) -> Transcription:
    """Submit a transcript through the engine and wait for its job; the finished transcription."""
    submission = engine.ingest.transcript({"transcript_text": text, "configuration_id": configuration_id,
                                           "metadata": metadata})
    job = engine.jobs.wait(submission.job.job_id, timeout=60)
    assert job.status.value == "COMPLETED", job.last_error
    return engine.transcriptions.get(job.transcription_id)


def wait_all(engine: Engine, job_ids: list[str]) -> None:
    for job_id in job_ids:
        job = engine.jobs.wait(job_id, timeout=60)
        assert job.status.value == "COMPLETED", job.last_error


def schema_json(request: dict[str, Any]) -> str:
    return json.dumps(request.get("format"), sort_keys=True)
