"""The LLM stage through the engine: transcripts in, fields with evidence and summaries out; Ollama
failures never lose the conversation; pending work and configuration changes are re-run later."""

from __future__ import annotations

from typing import Any

from heard_local.config import Settings
from heard_local.domain import LlmStatus
from heard_local.engine import Engine
from tests.llm.conftest import field_answer, run_transcript, task_of, wait_all
from tests.support.ollama_server import OllamaTestServer, Reply, user_text

FIELDS = [
    {"name": "order_id", "type": "string", "description": "The order number the customer gives"},
    {"name": "sentiment", "type": "string", "description": "Must be one of: POSITIVE, NEGATIVE, or NEUTRAL"},
    {"name": "refund_amount", "type": "number", "description": "The refund amount agreed, in dollars"},
    {"name": "refund_approved", "type": "boolean", "description": "Was a refund approved?"},
    {"name": "issues", "type": "array", "description": "Problems the customer reports"},
]
CALL = """[00:00:00] Agent: Thanks for calling Acme, this is Dana.
[00:00:04] Customer: Hi, my order A-7781 arrived with a cracked screen and a missing charger.
[00:00:12] Agent: I'm sorry. I've approved a refund of 120 dollars.
[00:00:18] Customer: Great, thank you so much!
[00:00:21] Agent: Goodbye."""
ANSWER = {
    "order_id": field_answer("A-7781", ("my order A-7781", 1)),
    "sentiment": field_answer("POSITIVE", ("Great, thank you so much!", 3)),
    "refund_amount": field_answer(120, ("approved a refund of 120 dollars", 2)),
    "refund_approved": field_answer(True, ("I've approved a refund", 2)),
    "issues": field_answer(["cracked screen", "missing charger"],
                           ("arrived with a cracked screen and a missing charger", 1), ("a broken lid", 1)),
}


def answer_for(request: dict[str, Any]) -> Any:
    if task_of(request) == "summary":
        return {"summary": "A customer got a refund of 120 dollars for a damaged order."}
    return ANSWER


def create(engine: Engine, **config: Any) -> str:
    configuration, _ = engine.configurations.create({"tag": config.pop("tag", "Support"), **config})
    return configuration.configuration_id


def test_a_transcript_completes_with_typed_fields_evidence_and_a_summary(
        llm_engine: Engine, ollama: OllamaTestServer) -> None:
    ollama.responder = answer_for
    configuration_id = create(llm_engine, extraction_fields=FIELDS, summary=True, summary_language="en")
    transcription = run_transcript(llm_engine, CALL, configuration_id)
    details = transcription.details
    assert details is not None
    assert details.llm_status is LlmStatus.COMPLETED
    assert details.llm_pending_reason is None
    assert details.summary is not None
    assert details.summary.summary == "A customer got a refund of 120 dollars for a damaged order."
    api = transcription.to_api()["details"]["fields"]["fields"]
    assert [(f["name"], f["value"]) for f in api] == [
        ("order_id", "A-7781"), ("sentiment", "POSITIVE"), ("refund_amount", 120), ("refund_approved", True),
        ("issues", ["cracked screen", "missing charger"])]
    evidence = {f["name"]: f["evidence"] for f in api}
    assert evidence["refund_amount"] == [{"quote": "approved a refund of 120 dollars", "segment_index": 2}]
    # "a broken lid" occurs nowhere in the call: dropped.
    assert evidence["issues"] == [{"quote": "arrived with a cracked screen and a missing charger", "segment_index": 1}]
    segments = details.conversation.segments
    for field in api:
        for item in field["evidence"]:
            assert item["quote"].lower() in segments[item["segment_index"]].text.lower()
    assert {task_of(r) for r in ollama.chat_requests} == {"extraction", "summary"}


def test_a_configuration_without_fields_or_summary_never_calls_the_llm(
        llm_engine: Engine, ollama: OllamaTestServer) -> None:
    transcription = run_transcript(llm_engine, CALL, create(llm_engine))
    assert transcription.details is not None
    assert transcription.details.llm_status is LlmStatus.NOT_REQUESTED
    assert ollama.chat_requests == []


def test_ollama_down_keeps_the_conversation_and_re_running_later_completes_it(
        settings: Settings, ollama: OllamaTestServer) -> None:
    port = ollama.port
    ollama.stop()  # Ollama is down when the transcript arrives
    with Engine.open(settings.model_copy(update={"ollama_host": f"http://127.0.0.1:{port}"})) as engine:
        configuration_id = create(engine, extraction_fields=FIELDS, summary=True)
        transcription = run_transcript(engine, CALL, configuration_id)
        assert transcription.status.value == "COMPLETED"
        details = transcription.details
        assert details is not None
        assert len(details.conversation.segments) == 5
        assert details.llm_status is LlmStatus.PENDING
        assert "Ollama is not running" in (details.llm_pending_reason or "")
        assert "`ollama serve`" in (details.llm_pending_reason or "")
        assert details.fields is None and details.summary is None

        with OllamaTestServer(port=port, responder=answer_for) as revived:
            job = engine.jobs.reprocess(transcription.transcription_id)
            wait_all(engine, [job.job_id])
            again = engine.transcriptions.get(transcription.transcription_id)
            assert again.details is not None
            assert again.details.llm_status is LlmStatus.COMPLETED
            assert again.details.llm_pending_reason is None
            assert again.details.fields is not None
            assert again.details.fields.fields[0].value == "A-7781"
            assert again.details.summary is not None
            # Re-running touched only the LLM stage: the same conversation, no new transcription.
            assert again.details.conversation == details.conversation
            assert llm_engine_count(engine) == 1
            assert len(revived.chat_requests) == 2


def llm_engine_count(engine: Engine) -> int:
    return engine.transcriptions.list().total


def test_a_timeout_marks_the_llm_work_pending_with_the_reason(settings: Settings, ollama: OllamaTestServer) -> None:
    ollama.script(Reply.hang(3.0))
    with Engine.open(settings.model_copy(update={"ollama_host": ollama.url, "ollama_timeout_seconds": 0.5})) as eng:
        transcription = run_transcript(eng, CALL, create(eng, extraction_fields=FIELDS))
    assert transcription.details is not None
    assert transcription.details.llm_status is LlmStatus.PENDING
    assert "did not answer within 0.5 s" in (transcription.details.llm_pending_reason or "")
    assert transcription.details.conversation.segments


def test_a_server_error_marks_the_llm_work_pending(llm_engine: Engine, ollama: OllamaTestServer) -> None:
    ollama.script(Reply.http_error(500, "CUDA error: out of memory"))
    transcription = run_transcript(llm_engine, CALL, create(llm_engine, extraction_fields=FIELDS))
    assert transcription.details is not None
    assert transcription.details.llm_status is LlmStatus.PENDING
    assert "CUDA error: out of memory" in (transcription.details.llm_pending_reason or "")


def test_a_missing_model_marks_the_llm_work_pending_with_the_pull_command(
        llm_engine: Engine, ollama: OllamaTestServer) -> None:
    ollama.models = ["phi3:mini"]
    transcription = run_transcript(llm_engine, CALL, create(llm_engine, summary=True))
    assert transcription.details is not None
    assert transcription.details.llm_status is LlmStatus.PENDING
    assert "`ollama pull llama3.2:3b`" in (transcription.details.llm_pending_reason or "")
    assert llm_engine.llm_health()["status"] == "model_not_pulled"


def test_engine_llm_health_reports_running(llm_engine: Engine) -> None:
    health = llm_engine.llm_health()
    assert health["status"] == "running" and health["ok"] is True


def test_engine_llm_health_reports_not_running(engine: Engine) -> None:
    health = engine.llm_health()  # the shared fixture points at a port where nothing listens
    assert health["status"] == "not_running" and health["ok"] is False
    assert "start it with `ollama serve`" in health["message"]


GERMAN = """Kunde: Guten Tag, meine Bestellung ist leider beschädigt angekommen.
Agent: Das tut mir leid. Ich schicke Ihnen sofort einen Ersatz und Sie bekommen eine Gutschrift.
Kunde: Vielen Dank, das ist sehr freundlich von Ihnen."""


def test_summary_language_df_is_the_language_detected_for_that_transcription(
        llm_engine: Engine, ollama: OllamaTestServer) -> None:
    ollama.responder = lambda request: {"summary": "Zusammenfassung."}
    transcription = run_transcript(llm_engine, GERMAN, create(llm_engine, summary=True, summary_language="df"))
    assert transcription.details is not None
    assert transcription.details.language == "de"
    (request,) = ollama.chat_requests
    assert "Write in German." in user_text(request)


def test_an_explicit_summary_language_wins_over_the_detected_one(llm_engine: Engine, ollama: OllamaTestServer) -> None:
    ollama.responder = lambda request: {"summary": "Résumé."}
    transcription = run_transcript(llm_engine, GERMAN, create(llm_engine, summary=True, summary_language="fr"))
    assert transcription.details is not None and transcription.details.summary is not None
    assert transcription.details.summary.summary == "Résumé."
    assert "Write in French." in user_text(ollama.chat_requests[0])


def test_changed_fields_are_re_extracted_for_the_whole_configuration_without_transcribing_again(
        llm_engine: Engine, ollama: OllamaTestServer) -> None:
    def responder(request: dict[str, Any]) -> Any:
        fields = request["format"]["properties"]
        text = user_text(request)
        order = "A-7781" if "A-7781" in text else "B-2"
        answer: dict[str, Any] = {"order_id": field_answer(order, (f"order {order}", 1))}
        if "refund_amount" in fields:
            amount = 120 if "120" in text else None
            answer["refund_amount"] = field_answer(amount, *([("refund of 120 dollars", 2)] if amount else []))
        return answer

    ollama.responder = responder
    configuration_id = create(llm_engine, extraction_fields=FIELDS[:1])
    first = run_transcript(llm_engine, CALL, configuration_id)
    second = run_transcript(llm_engine, "Agent: Hello.\nCustomer: My order B-2 is late.\nAgent: Sorry.",
                            configuration_id)
    assert [f.name for f in llm_engine.transcriptions.get(first.transcription_id).details.fields.fields] == [
        "order_id"]
    before = len(ollama.chat_requests)

    llm_engine.configurations.update(configuration_id, {"extraction_fields": [FIELDS[0], FIELDS[2]]})
    jobs = llm_engine.jobs.reprocess_configuration(configuration_id)
    assert len(jobs) == 2
    wait_all(llm_engine, [j.job_id for j in jobs])

    after = {t: llm_engine.transcriptions.get(t) for t in (first.transcription_id, second.transcription_id)}
    values = {t: {f.name: f.value for f in tr.details.fields.fields} for t, tr in after.items()}
    assert values[first.transcription_id] == {"order_id": "A-7781", "refund_amount": 120}
    assert values[second.transcription_id] == {"order_id": "B-2", "refund_amount": None}
    # The new schema was sent, and the conversations are the ones stored before (not transcribed again).
    new_requests = ollama.chat_requests[before:]
    assert len(new_requests) == 2
    assert all(set(r["format"]["properties"]) == {"order_id", "refund_amount"} for r in new_requests)
    assert after[first.transcription_id].details.conversation == first.details.conversation
    assert llm_engine.transcriptions.list().total == 2
