"""Summaries and analytics narratives written the configuration's way (summary_instructions,
analytics_instructions): what reaches the Ollama test server, and the attributes through the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.config import Settings
from heard_local.engine import Engine
from tests.llm.conftest import run_transcript, task_of
from tests.llm.test_summary import llm_for, long_context
from tests.support.ollama_server import OllamaTestServer, user_text

CALL = "Agent: Hello, how can I help?\nCustomer: I was charged twice for my May invoice.\nAgent: Refunded."
WISH = "Three bullet points, then a line starting 'Next steps:'."


def test_a_summary_follows_the_configurations_instructions(llm_engine: Engine, ollama: OllamaTestServer) -> None:
    plain, _ = llm_engine.configurations.create({"tag": "plain", "summary": True})
    mine, _ = llm_engine.configurations.create({"tag": "mine", "summary": True, "summary_instructions": WISH})
    run_transcript(llm_engine, CALL, plain.configuration_id)
    run_transcript(llm_engine, CALL, mine.configuration_id)
    first, second = [user_text(r) for r in ollama.chat_requests if task_of(r) == "summary"]
    assert "3 to 8 sentences" in first and "<instructions>" not in first  # without them: today's summary
    assert f"<instructions>\n{WISH}\n</instructions>" in second and "3 to 8 sentences" not in second
    assert "charged twice" in second


def test_a_long_conversations_instructions_shape_the_final_summary_only(ollama: OllamaTestServer) -> None:
    context = long_context(120)
    context.summary_instructions = WISH
    llm_for(ollama, 2048).summarize(context, "en", lambda *a, **k: None)
    *maps, reduce = [user_text(r) for r in ollama.chat_requests]
    assert len(maps) >= 2 and not any(WISH in m for m in maps)  # parts keep every fact for the reduce
    assert WISH in reduce


def test_the_analytics_narrative_takes_its_instructions(llm_engine: Engine, ollama: OllamaTestServer) -> None:
    wish = "Address the report to the head of billing; lead with refunds."
    configuration, _ = llm_engine.configurations.create({"tag": "billing", "analytics_instructions": wish})
    run_transcript(llm_engine, CALL, configuration.configuration_id)
    report = llm_engine.analytics.report(configuration.configuration_id)
    assert report["narrative"]["status"] == "completed"
    narrative = [user_text(r) for r in ollama.chat_requests if task_of(r) == "narrative"]
    assert len(narrative) == 1 and f"<instructions>\n{wish}\n</instructions>" in narrative[0]
    llm_engine.configurations.update(configuration.configuration_id, {"analytics_instructions": None})
    llm_engine.analytics.report(configuration.configuration_id)  # changed instructions: written anew
    narrative = [user_text(r) for r in ollama.chat_requests if task_of(r) == "narrative"]
    assert len(narrative) == 2 and "<instructions>" not in narrative[1]


def test_the_extras_are_optional_validated_and_kept_across_a_restart(settings: Settings, tmp_path: Path) -> None:
    with Engine.open(settings) as engine:
        key = engine.keys.create("extras")[1]
        with TestClient(create_app(engine)) as client:
            headers = {"X-API-Key": key}
            documented = client.post("/api/v1/configurations", json={"tag": "documented only", "summary": True},
                                     headers=headers)
            assert documented.status_code == 201, documented.text
            body = documented.json()
            assert body["summary_instructions"] is None and body["analytics_instructions"] is None
            assert body["redact"] == [] and body["redact_audio"] is False
            too_long = client.post("/api/v1/configurations", json={"tag": "x", "summary_instructions": "a" * 2001},
                                   headers=headers)
            assert too_long.status_code == 400
            assert too_long.json()["error"]["code"] == "VALIDATION_ERROR"
            assert "summary_instructions" in too_long.json()["error"]["details"]["field"]
            bad_kind = client.post("/api/v1/configurations", json={"tag": "x", "redact": ["card", "dna"]},
                                   headers=headers)
            assert bad_kind.status_code == 400 and bad_kind.json()["error"]["code"] == "VALIDATION_ERROR"
            made = client.post("/api/v1/configurations", headers=headers, json={
                "tag": "mine", "summary": True, "summary_instructions": "a" * 2000,
                "analytics_instructions": "Short.", "redact": ["card", "email", "card"], "redact_audio": True})
            assert made.status_code == 201, made.text
            configuration_id = made.json()["configuration_id"]
            changed = client.put(f"/api/v1/configurations/{configuration_id}", headers=headers,
                                 json={"analytics_instructions": "  "})
            assert changed.status_code == 200, changed.text
    with Engine.open(settings) as engine:
        stored = engine.configurations.get(configuration_id)
        assert stored.summary_instructions == "a" * 2000
        assert stored.analytics_instructions is None  # blank means none
        assert [k.value for k in stored.redact] == ["card", "email"] and stored.redact_audio
