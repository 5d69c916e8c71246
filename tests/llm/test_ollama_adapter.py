"""The Ollama adapter over real HTTP (the real ``ollama`` client against the scripted server)."""

from __future__ import annotations

from typing import Any

import pytest

from heard_local.adapters.ollama import OllamaLlm
from heard_local.config import Settings
from heard_local.domain import Evidence, ExtractionField, Segment
from heard_local.errors import LlmInvalidOutputError, LlmUnavailableError
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import LlmContext
from tests.llm.conftest import field_answer
from tests.support.ollama_server import OllamaTestServer, Reply

FIELDS = [
    ExtractionField(name="customer_id", type="string", description="The customer ID mentioned"),
    ExtractionField(name="sentiment", type="string",
                    description="Overall sentiment. Must be one of: POSITIVE, NEGATIVE, or NEUTRAL"),
    ExtractionField(name="purchase_amount", type="number", description="The total purchase amount discussed"),
    ExtractionField(name="resolved", type="boolean", description="Was the customer's problem solved?"),
    ExtractionField(name="products", type="array", description="Products the customer asked about"),
]
CONTEXT = LlmContext(
    segments=[
        Segment(text="Thanks for calling Acme, how can I help?", speaker="SPEAKER_00", start=0.0, end=4.0),
        Segment(text="My customer number is CUST-12345 and I want the Pro plan and the Backup add-on.",
                speaker="SPEAKER_01", start=4.0, end=10.0),
        Segment(text="Great, that comes to $15,000 per year. Anything else?", speaker="SPEAKER_00",
                start=10.0, end=14.0),
        Segment(text="No, that solves it, thank you!", speaker="SPEAKER_01", start=14.0, end=16.0),
    ],
    language="en",
    speaker_labels={"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"},
)
CORRECT = {
    "customer_id": field_answer("CUST-12345", ("My customer number is CUST-12345", 1)),
    "sentiment": field_answer("POSITIVE", ("that solves it, thank you!", 3)),
    "purchase_amount": field_answer(15000, ("that comes to $15,000 per year", 2)),
    "resolved": field_answer(True, ("No, that solves it", 3)),
    "products": field_answer(["Pro plan", "Backup add-on"], ("I want the Pro plan and the Backup add-on", 1)),
}


def llm_for(server: OllamaTestServer, **overrides: Any) -> OllamaLlm:
    settings = Settings(ollama_host=server.url, ollama_timeout_seconds=overrides.pop("timeout", 5.0), **overrides)
    return OllamaLlm(settings)


def values(fields: Any) -> dict[str, Any]:
    return {f.name: f.value for f in fields.fields}


def test_a_correct_answer_gives_typed_values_with_verified_evidence(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.json(CORRECT))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert values(fields) == {"customer_id": "CUST-12345", "sentiment": "POSITIVE", "purchase_amount": 15000,
                              "resolved": True, "products": ["Pro plan", "Backup add-on"]}
    evidence = {f.name: f.evidence for f in fields.fields}
    assert evidence["purchase_amount"] == [Evidence(quote="that comes to $15,000 per year", segment_index=2)]
    assert evidence["customer_id"] == [Evidence(quote="My customer number is CUST-12345", segment_index=1)]
    # The output keeps the spec's order and shape: fields.fields[{name, value}], evidence alongside.
    assert [f.name for f in fields.fields] == [f.name for f in FIELDS]
    assert fields.model_dump()["fields"][2] == {
        "name": "purchase_amount", "value": 15000,
        "evidence": [{"quote": "that comes to $15,000 per year", "segment_index": 2}]}

    (request,) = ollama.chat_requests
    assert request["model"] == "llama3.2:3b"
    assert request["stream"] is False
    assert request["options"]["num_ctx"] == Settings().ollama_context_tokens
    assert request["options"]["temperature"] == 0
    schema = request["format"]
    assert schema["required"] == [f.name for f in FIELDS]
    assert schema["properties"]["sentiment"]["properties"]["value"]["enum"] == ["POSITIVE", "NEGATIVE", "NEUTRAL",
                                                                                 None]
    prompt = request["messages"][-1]["content"]
    assert "[1] Customer: My customer number is CUST-12345" in prompt
    assert "- sentiment (exactly one of: POSITIVE, NEGATIVE, NEUTRAL)" in prompt
    assert "The total purchase amount discussed" in prompt


def test_invalid_json_is_asked_for_again_once(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.text("Sure! Here are the fields: customer_id is CUST-12345"), Reply.json(CORRECT))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert values(fields)["customer_id"] == "CUST-12345"
    first, second = ollama.chat_requests
    assert second["messages"][:len(first["messages"])] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant",
                                      "content": "Sure! Here are the fields: customer_id is CUST-12345"}
    assert "not valid JSON" in second["messages"][-1]["content"]


def test_invalid_json_twice_leaves_the_extraction_pending(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.text("{broken"), Reply.text("still broken"))
    with pytest.raises(LlmInvalidOutputError) as caught:
        llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert isinstance(caught.value, LlmUnavailableError)  # so the engine marks it pending, re-runnable
    assert "invalid JSON" in caught.value.message
    assert "HEARD_OLLAMA_MODEL" in caught.value.message
    assert len(ollama.chat_requests) == 2


def test_a_value_of_the_wrong_type_is_asked_for_again(ollama: OllamaTestServer) -> None:
    wrong = {**CORRECT, "purchase_amount": field_answer("fifteen thousand-ish", ("$15,000", 2)),
             "resolved": field_answer("kind of", ("solves it", 3))}
    ollama.script(Reply.json(wrong), Reply.json(CORRECT))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert values(fields)["purchase_amount"] == 15000
    assert values(fields)["resolved"] is True
    feedback = ollama.chat_requests[1]["messages"][-1]["content"]
    assert "purchase_amount" in feedback and "fifteen thousand-ish" in feedback
    assert "resolved" in feedback


def test_a_value_still_wrong_after_the_retry_is_null_and_the_rest_is_kept(ollama: OllamaTestServer) -> None:
    wrong = {**CORRECT, "sentiment": field_answer("ECSTATIC", ("thank you", 3))}
    ollama.script(Reply.json(wrong), Reply.json(wrong))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert values(fields)["sentiment"] is None
    assert {f.name: f.evidence for f in fields.fields}["sentiment"] == []
    assert values(fields)["customer_id"] == "CUST-12345"
    assert len(ollama.chat_requests) == 2


def test_coercible_values_are_coerced_without_a_retry(ollama: OllamaTestServer) -> None:
    loose = {**CORRECT, "purchase_amount": field_answer("$15,000", ("$15,000", 2)),
             "resolved": field_answer("yes", ("solves it", 3)),
             "sentiment": field_answer("positive", ("thank you", 3)),
             "products": field_answer("Pro plan", ("the Pro plan", 1))}
    ollama.script(Reply.json(loose))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert values(fields) == {"customer_id": "CUST-12345", "sentiment": "POSITIVE", "purchase_amount": 15000,
                              "resolved": True, "products": ["Pro plan"]}
    assert len(ollama.chat_requests) == 1


def test_a_quote_that_is_not_in_the_transcript_is_dropped(ollama: OllamaTestServer) -> None:
    invented = {**CORRECT, "purchase_amount": field_answer(
        15000, ("The customer agreed to pay fifteen thousand dollars", 2), ("$15,000 per year", 1))}
    ollama.script(Reply.json(invented))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    amount = next(f for f in fields.fields if f.name == "purchase_amount")
    assert amount.value == 15000
    # The invented quote is gone; the real one is kept and moved to the segment that holds it.
    assert amount.evidence == [Evidence(quote="$15,000 per year", segment_index=2)]


def test_unanswered_fields_are_null_never_invented(ollama: OllamaTestServer) -> None:
    ollama.script(Reply(content=None))  # the server's automatic answer: every nullable value null
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert values(fields) == dict.fromkeys((f.name for f in FIELDS), None)
    assert all(f.evidence == [] for f in fields.fields)


def test_a_null_value_keeps_no_evidence(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.json({**CORRECT, "customer_id": field_answer(None, ("My customer number", 1))}))
    fields = llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    customer = next(f for f in fields.fields if f.name == "customer_id")
    assert customer.value is None and customer.evidence == []


def test_a_transcript_longer_than_the_context_is_extracted_in_chunks(ollama: OllamaTestServer) -> None:
    filler = "We talked about the weather and the traffic on the way to the office this morning."
    segments = [Segment(text=f"{filler} Number {i}.", speaker=f"SPEAKER_0{i % 2}") for i in range(40)]
    segments[3] = Segment(text="I want the Pro plan.", speaker="SPEAKER_01")
    segments[35] = Segment(text="Add the Backup add-on, total 1200 dollars.", speaker="SPEAKER_01")
    context = LlmContext(segments=segments, language="en", speaker_labels={"SPEAKER_01": "Customer"})
    fields = [ExtractionField(name="products", type="array", description="Products"),
              ExtractionField(name="amount", type="number", description="Total amount")]

    def responder(request: dict[str, Any]) -> Any:
        prompt = request["messages"][-1]["content"]
        products, amount, quotes = [], None, []
        if "[3] Customer: I want the Pro plan." in prompt:
            products.append("Pro plan")
            quotes.append(("I want the Pro plan", 3))
        if "[35] Customer: Add the Backup add-on" in prompt:
            products.append("Backup add-on")
            amount = 1200
            quotes.append(("Add the Backup add-on", 35))
        return {"products": field_answer(products or None, *quotes),
                "amount": field_answer(amount, *[q for q in quotes if q[1] == 35])}

    ollama.responder = responder
    steps: list[tuple[str, float | None, float | None]] = []
    result = llm_for(ollama, ollama_context_tokens=1024).extract(
        context, fields, lambda step, artifact=None, *, completed=None, total=None: steps.append(
            (step, completed, total)))
    requests = ollama.chat_requests
    assert len(requests) >= 3
    assert all("of a long conversation" in r["messages"][-1]["content"] for r in requests)
    # Every segment was sent exactly once: chunked, not truncated.
    sent = "\n".join(r["messages"][-1]["content"] for r in requests)
    for i in range(40):
        assert sent.count(f"\n[{i}] ") == 1
    merged = {f.name: f for f in result.fields}
    assert merged["products"].value == ["Pro plan", "Backup add-on"]
    assert merged["amount"].value == 1200
    assert merged["amount"].evidence == [Evidence(quote="Add the Backup add-on", segment_index=35)]
    assert steps[-1] == ("chunk", len(requests), len(requests))


def test_an_empty_conversation_asks_nothing(ollama: OllamaTestServer) -> None:
    empty = LlmContext(segments=[], language=None)
    fields = llm_for(ollama).extract(empty, FIELDS, null_hook)
    assert values(fields) == dict.fromkeys((f.name for f in FIELDS), None)
    assert ollama.chat_requests == []


# --- failures: each one an LlmUnavailableError that says what to do -------------------------------------------


def test_a_timeout_says_so(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.hang(3.0))
    with pytest.raises(LlmUnavailableError) as caught:
        llm_for(ollama, timeout=0.5).summarize(CONTEXT, "en", null_hook)
    assert "did not answer within 0.5 s" in caught.value.message
    assert "HEARD_OLLAMA_TIMEOUT_SECONDS" in caught.value.message


def test_a_server_error_says_so(ollama: OllamaTestServer) -> None:
    ollama.script(Reply.http_error(500, "llama runner process has terminated"))
    with pytest.raises(LlmUnavailableError) as caught:
        llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert "HTTP 500" in caught.value.message
    assert "llama runner process has terminated" in caught.value.message


def test_a_refused_connection_says_how_to_start_ollama(ollama: OllamaTestServer) -> None:
    llm = llm_for(ollama)
    ollama.stop()
    with pytest.raises(LlmUnavailableError) as caught:
        llm.extract(CONTEXT, FIELDS, null_hook)
    assert "Ollama is not running" in caught.value.message
    assert "`ollama serve`" in caught.value.message
    assert ollama.url in caught.value.message


def test_a_missing_model_says_how_to_pull_it(ollama: OllamaTestServer) -> None:
    ollama.models = ["qwen2.5:7b"]
    with pytest.raises(LlmUnavailableError) as caught:
        llm_for(ollama).summarize(CONTEXT, "en", null_hook)
    assert "`ollama pull llama3.2:3b`" in caught.value.message


def test_a_dropped_connection_is_unavailable_not_a_crash(ollama: OllamaTestServer) -> None:
    ollama.script(Reply(drop=True))
    with pytest.raises(LlmUnavailableError) as caught:
        llm_for(ollama).summarize(CONTEXT, "en", null_hook)
    assert "`ollama serve`" in caught.value.message


def test_an_answer_that_is_not_ollama_s_api_is_unavailable_not_a_crash(ollama: OllamaTestServer) -> None:
    ollama.script(Reply(raw="<html><body>Proxy login required</body></html>"))
    with pytest.raises(LlmUnavailableError) as caught:
        llm_for(ollama).extract(CONTEXT, FIELDS, null_hook)
    assert "HEARD_OLLAMA_HOST" in caught.value.message


# --- health --------------------------------------------------------------------------------------------------


def test_health_reports_running(ollama: OllamaTestServer) -> None:
    health = llm_for(ollama).health()
    assert health["status"] == "running" and health["ok"] is True
    assert health["available_models"] == ["llama3.2:3b"]


def test_health_matches_an_untagged_model_to_latest(ollama: OllamaTestServer) -> None:
    ollama.models = ["mistral:latest"]
    assert llm_for(ollama, ollama_model="mistral").health()["status"] == "running"


def test_health_reports_a_model_that_is_not_pulled(ollama: OllamaTestServer) -> None:
    ollama.models = ["qwen2.5:7b"]
    health = llm_for(ollama).health()
    assert health["status"] == "model_not_pulled" and health["ok"] is False
    assert "run `ollama pull llama3.2:3b`" in health["message"]
    assert health["available_models"] == ["qwen2.5:7b"]


def test_health_reports_not_running(ollama: OllamaTestServer) -> None:
    llm = llm_for(ollama)
    ollama.stop()
    health = llm.health()
    assert health["status"] == "not_running" and health["ok"] is False
    assert "start it with `ollama serve`" in health["message"]
