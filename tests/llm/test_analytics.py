"""The analytics report, checked against a hand-computed fixture of 22 conversations.

Every conversation goes in through the engine as a timestamped transcript; its fields come from the
scripted Ollama server. Durations: the last turn of each transcript is one word, so it lasts the
parser's minimum of 1 s and a conversation lasts (last timestamp + 1) seconds. Every expected number
below was computed by hand from the FIXTURE table (working in the comments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.engine.analytics import resolve_analytics_language
from heard_local.errors import NotFoundError
from tests.llm.conftest import field_answer, marker_in, run_transcript, task_of, wait_all
from tests.support.ollama_server import OllamaTestServer, Reply, user_text

FIELDS = [
    {"name": "sentiment", "type": "string",
     "description": "Overall sentiment. Must be one of: POSITIVE, NEGATIVE, or NEUTRAL"},
    {"name": "amount", "type": "number", "description": "Total purchase amount discussed"},
    {"name": "resolved", "type": "boolean", "description": "Was the customer's issue resolved?"},
    {"name": "products", "type": "array",
     "description": "Products mentioned. Each must be one of: Basic, Pro, Enterprise"},
]


@dataclass(frozen=True)
class Row:
    number: int
    language: str
    day: str
    t1: int  # seconds: when the customer's turn starts
    t2: int  # seconds: when the agent's one-word goodbye starts (duration = t2 + 1)
    speakers: int
    channel: str
    sentiment: str | None
    amount: float | None
    resolved: bool | None
    products: list[str] | None

    @property
    def marker(self) -> str:
        return f"CONV-{self.number:02d}"


#   no lang day    t1   t2  spk channel    sentiment   amount  resolved products
FIXTURE = [
    Row(1, "en", "03-01", 10, 44, 2, "voice", "POSITIVE", 1200, True, ["Basic"]),
    Row(2, "en", "03-01", 20, 89, 2, "voice", "NEGATIVE", None, False, ["Pro"]),
    Row(3, "en", "03-01", 30, 149, 2, "voice", "NEUTRAL", 300, True, []),
    Row(4, "de", "03-01", 15, 59, 2, "voice", "POSITIVE", 2500, True, ["Pro", "Enterprise"]),
    Row(5, "en", "03-02", 40, 299, 3, "voice", "NEGATIVE", 0, False, ["Basic"]),
    Row(6, "en", "03-02", 60, 599, 2, "voice", "POSITIVE", 800, True, ["Basic", "Pro"]),
    Row(7, "es", "03-02", 25, 119, 2, "voice", None, None, None, None),
    Row(8, "en", "03-02", 100, 899, 2, "voice", "POSITIVE", 15000, True, ["Enterprise"]),
    Row(9, "de", "03-03", 5, 29, 1, "chat", "NEUTRAL", None, None, None),
    Row(10, "en", "03-03", 200, 1799, 3, "voice", "NEGATIVE", 4999.5, False, ["Pro"]),
    Row(11, "en", "03-03", 300, 3599, 2, "voice", "POSITIVE", 20000, True, ["Enterprise", "Pro"]),
    Row(12, "es", "03-03", 12, 239, 2, "voice", "NEUTRAL", 450, True, ["Basic"]),
    Row(13, "en", "03-05", 50, 179, 2, "voice", "POSITIVE", 1200, True, ["Basic"]),
    Row(14, "de", "03-05", 35, 74, 2, "voice", "NEGATIVE", None, False, None),
    Row(15, "en", "03-05", 45, 419, 2, "voice", "POSITIVE", 3000, None, ["Pro"]),
    Row(16, "en", "03-05", 8, 58, 1, "chat", "NEUTRAL", None, None, None),
    Row(17, "es", "03-05", 90, 719, 2, "voice", "POSITIVE", 999, True, ["Basic"]),
    Row(18, "en", "03-05", 150, 1199, 2, "voice", "NEGATIVE", 50, False, ["Enterprise"]),
    Row(19, "de", "03-05", 22, 99, 2, "voice", "POSITIVE", 700, True, ["Basic"]),
    Row(20, "en", "03-05", 400, 4499, 3, "meeting", "NEUTRAL", 10000, True, ["Enterprise"]),
    Row(21, "en", "03-05", 18, 64, 2, "voice", "POSITIVE", 150, True, ["Basic"]),
    # Ollama fails (HTTP 500) for this one: it completes with its conversation, its LLM work pending.
    Row(22, "de", "03-05", 30, 209, 2, "voice", None, None, None, None),
]
PENDING = {22}
TEXT = {
    "en": ("Hello, this is support, reference {marker}.", "I would like to talk about my plan and the price.",
           "I approve this.", "Goodbye."),
    "de": ("Hallo, hier ist der Support, Referenz {marker}.", "Ich möchte über meinen Vertrag und den Preis reden.",
           "Das genehmige ich.", "Tschüss."),
    "es": ("Hola, aquí soporte, referencia {marker}.", "Quiero hablar de mi plan y del precio.",
           "Lo apruebo.", "Adiós."),
}
NARRATIVE = {
    "executive_summary": "Twenty-two conversations; most were positive.",
    "key_themes": ["pricing", "plans"],
    "insights": [{"finding": "Negative calls mention price.", "recommendation": "Review the pricing page."}],
}


def clock(seconds: int) -> str:
    return f"[{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}]"


def transcript(row: Row) -> str:
    greeting, fact, approval, goodbye = TEXT[row.language]
    second = "Agent" if row.speakers == 1 else "Customer"
    lines = [f"{clock(0)} Agent: {greeting.format(marker=row.marker)}", f"{clock(row.t1)} {second}: {fact}"]
    if row.speakers == 3:
        lines.append(f"{clock(row.t1 + 10)} Operator: {approval}")
    lines.append(f"{clock(row.t2)} Agent: {goodbye}")
    return "\n".join(lines)


def responder(request: dict[str, Any]) -> Any:
    task = task_of(request)
    if task == "narrative":
        return NARRATIVE
    marker = marker_in(request)
    row = next(r for r in FIXTURE if r.marker == marker)
    if task == "summary":
        return {"summary": f"Summary of {marker}."}
    if row.number in PENDING:
        return Reply.http_error(500, "llama runner process has terminated")
    fact = TEXT[row.language][1]
    return {
        "sentiment": field_answer(row.sentiment, *([(fact, 1)] if row.sentiment else [])),
        "amount": field_answer(row.amount, *([(fact, 1)] if row.amount is not None else [])),
        "resolved": field_answer(row.resolved, *([(fact, 1)] if row.resolved is not None else [])),
        "products": field_answer(row.products, *([(fact, 1)] if row.products else [])),
    }


def submit_fixture(engine: Engine, configuration_id: str) -> None:
    jobs = []
    for row in FIXTURE:
        submission = engine.ingest.transcript({
            "transcript_text": transcript(row),
            "configuration_id": configuration_id,
            "metadata": {"language": row.language, "channel": row.channel,
                         "recorded_at": f"2025-{row.day}T{row.number % 24:02d}:00:00Z"},
        })
        jobs.append(submission.job.job_id)
    wait_all(engine, jobs)


@pytest.fixture
def fixture_engine(llm_engine: Engine, ollama: OllamaTestServer) -> tuple[Engine, str]:
    ollama.responder = responder
    configuration, _ = llm_engine.configurations.create(
        {"tag": "Sales Q1", "extraction_fields": FIELDS, "summary": True, "summary_language": "df"})
    submit_fixture(llm_engine, configuration.configuration_id)
    # Conversations of other configurations never count.
    other, _ = llm_engine.configurations.create({"tag": "Other"})
    run_transcript(llm_engine, "[00:00:00] Agent: Unrelated call.\n[00:09:59] Agent: Bye.", other.configuration_id)
    run_transcript(llm_engine, "[00:00:00] Agent: Default configuration call.\n[00:30:00] Agent: Bye.")
    return llm_engine, configuration.configuration_id


def by(items: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_the_deterministic_numbers_match_the_hand_computed_fixture(fixture_engine: tuple[Engine, str]) -> None:
    engine, configuration_id = fixture_engine
    report = engine.analytics.report(configuration_id, include_narrative=False)
    assert report["report"] == "executive_and_qualitative_analysis"
    assert report["schema_version"] == 1
    assert report["configuration_tag"] == "Sales Q1"
    numbers = report["deterministic"]

    assert numbers["conversations"] == {
        "total": 22,
        "by_status": {"PENDING": 0, "IN_PROGRESS": 0, "COMPLETED": 22, "FAILED": 0},
        "llm_status": {"completed": 21, "pending": 1, "not_requested": 0},
    }
    # Durations (t2 + 1): 45 90 150 60 300 600 120 900 30 1800 3600 240 180 75 420 59 720 1200 100 4500 65 210.
    # Sum 15464; mean 15464 / 22 = 702.909; sorted, the 11th and 12th are 180 and 210: median 195.
    duration = numbers["duration_seconds"]
    assert {k: v for k, v in duration.items() if k != "histogram"} == {
        "known": 22, "total": 15464.0, "average": 702.909, "min": 30.0, "max": 4500.0, "median": 195.0}
    # < 1 min: 45 30 59 | 1-2: 90 60 75 100 65 | 2-5: 150 120 240 180 210 | 5-10: 300 420 | 10-15: 600 720
    # 15-30: 900 1200 | 30-60: 1800 | >= 60: 3600 4500
    assert [(b["label"], b["count"]) for b in duration["histogram"]] == [
        ("< 1 min", 3), ("1–2 min", 5), ("2–5 min", 5), ("5–10 min", 2), ("10–15 min", 2), ("15–30 min", 2),
        ("30–60 min", 1), ("≥ 60 min", 2)]
    assert duration["histogram"][0]["min_seconds"] == 0 and duration["histogram"][0]["max_seconds"] == 60
    assert duration["histogram"][-1]["min_seconds"] == 3600 and duration["histogram"][-1]["max_seconds"] is None

    # Speakers: 2 x 1, 17 x 2, 3 x 3 -> 45 / 22 = 2.045.
    assert numbers["speakers"] == {"average": 2.045, "min": 1, "max": 3, "distribution": [
        {"speakers": 1, "count": 2}, {"speakers": 2, "count": 17}, {"speakers": 3, "count": 3}]}
    # Segments: 3 per conversation, 4 with an operator (3 of them): 22 x 3 + 3 = 69; 69 / 22 = 3.136.
    assert numbers["segments"] == {"total": 69, "average_per_conversation": 3.136}

    assert numbers["languages"] == [
        {"language": "en", "name": "English", "count": 14, "share": 0.6364},
        {"language": "de", "name": "German", "count": 5, "share": 0.2273},
        {"language": "es", "name": "Spanish", "count": 3, "share": 0.1364},
    ]
    assert numbers["majority_language"] == "en"
    assert numbers["channels"] == [
        {"channel": "voice", "count": 19, "share": 0.8636},
        {"channel": "chat", "count": 2, "share": 0.0909},
        {"channel": "meeting", "count": 1, "share": 0.0455},
    ]
    # Talk time. Agent: t1 + 1 per two- and three-speaker call, t2 + 1 when alone -> 1761 s in 46 segments.
    # Customer: t2 - t1 per two-speaker call, 10 s per three-speaker call -> 7776 s. Operator (the third
    # speaker): t2 - t1 - 10 -> 5927 s. Together 15464 s, the total duration (the turns are contiguous).
    assert numbers["talk_time"] == [
        {"role": "Customer", "seconds": 7776.0, "share": 0.5028, "segments": 20, "conversations": 20},
        {"role": "Operator", "seconds": 5927.0, "share": 0.3833, "segments": 3, "conversations": 3},
        {"role": "Agent", "seconds": 1761.0, "share": 0.1139, "segments": 46, "conversations": 22},
    ]
    assert numbers["per_day"] == [
        {"date": "2025-03-01", "count": 4}, {"date": "2025-03-02", "count": 4}, {"date": "2025-03-03", "count": 4},
        {"date": "2025-03-04", "count": 0}, {"date": "2025-03-05", "count": 10}]

    fields = by(numbers["fields"], "name")
    assert list(fields) == ["sentiment", "amount", "resolved", "products"]
    # Sentiment over the 21 extracted: POSITIVE 1 4 6 8 11 13 15 17 19 21 = 10, NEGATIVE 2 5 10 14 18 = 5,
    # NEUTRAL 3 9 12 16 20 = 5, null: 7. Pending: 22.
    sentiment = fields["sentiment"]
    assert (sentiment["type"], sentiment["valid"], sentiment["missing"], sentiment["pending"]) == ("string", 20, 1, 1)
    assert sentiment["allowed_values"] == ["POSITIVE", "NEGATIVE", "NEUTRAL"]
    assert sentiment["values"] == [{"value": "POSITIVE", "count": 10, "share": 0.5},
                                   {"value": "NEGATIVE", "count": 5, "share": 0.25},
                                   {"value": "NEUTRAL", "count": 5, "share": 0.25}]
    assert sentiment["numeric"] is None
    # Amount: 16 values (0 counts: it is an answer), null for 2 7 9 14 16. Sum 61348.5, mean 3834.28125,
    # sorted 0 50 150 300 450 700 800 999 | 1200 1200 2500 … -> median (999 + 1200) / 2 = 1099.5.
    amount = fields["amount"]
    assert (amount["valid"], amount["missing"], amount["pending"], amount["distinct_values"]) == (16, 5, 1, 15)
    assert amount["numeric"] == {"min": 0.0, "max": 20000.0, "average": 3834.28125, "median": 1099.5,
                                 "sum": 61348.5}
    assert amount["values"][0] == {"value": 1200, "count": 2, "share": 0.125}
    assert sum(v["count"] for v in amount["values"]) == 16
    assert {"value": 4999.5, "count": 1, "share": 0.0625} in amount["values"]
    # Resolved: true 1 3 4 6 8 11 12 13 17 19 20 21 = 12, false 2 5 10 14 18 = 5, null 7 9 15 16.
    resolved = fields["resolved"]
    assert (resolved["valid"], resolved["missing"], resolved["pending"]) == (17, 4, 1)
    assert resolved["values"] == [{"value": True, "count": 12, "share": 0.7059},
                                  {"value": False, "count": 5, "share": 0.2941}]
    # Products (conversations naming each): Basic 1 5 6 12 13 17 19 21 = 8, Pro 2 4 6 10 11 15 = 6,
    # Enterprise 4 8 11 18 20 = 5; null (nothing named) 3 7 9 14 16.
    products = fields["products"]
    assert (products["valid"], products["missing"], products["pending"]) == (16, 5, 1)
    assert products["values"] == [{"value": "Basic", "count": 8, "share": 0.5},
                                  {"value": "Pro", "count": 6, "share": 0.375},
                                  {"value": "Enterprise", "count": 5, "share": 0.3125}]
    assert products["other_values"] == 0
    assert report["narrative"]["status"] == "not_requested"


def test_the_narrative_is_written_in_the_majority_language_and_reused_while_nothing_changes(
        fixture_engine: tuple[Engine, str], ollama: OllamaTestServer) -> None:
    engine, configuration_id = fixture_engine
    before = len(ollama.chat_requests)
    report = engine.analytics.report(configuration_id)
    assert report["language"] == {"requested": "df", "resolved": "en", "name": "English", "source": "majority"}
    narrative = report["narrative"]
    assert narrative["status"] == "completed"
    assert narrative["executive_summary"] == NARRATIVE["executive_summary"]
    assert narrative["key_themes"] == ["pricing", "plans"]
    assert narrative["insights"] == NARRATIVE["insights"]
    assert narrative["based_on"] == {"conversations": 22, "summaries": 21}
    assert narrative["cached"] is False
    (request,) = ollama.chat_requests[before:]
    prompt = user_text(request)
    assert "Write in English." in prompt
    assert '"conversations":22' in prompt
    assert "- Summary of CONV-21." in prompt  # the qualitative input: the conversations' own summaries

    again = engine.analytics.report(configuration_id)
    assert again["narrative"]["cached"] is True
    assert again["narrative"]["executive_summary"] == NARRATIVE["executive_summary"]
    assert len(ollama.chat_requests) == before + 1

    # An explicit analytics language wins, and a new narrative is written for it.
    engine.configurations.update(configuration_id, {"analytics_language": "es"})
    spanish = engine.analytics.report(configuration_id)
    assert spanish["language"] == {"requested": "es", "resolved": "es", "name": "Spanish", "source": "configuration"}
    assert spanish["narrative"]["cached"] is False
    assert "Write in Spanish." in user_text(ollama.chat_requests[-1])


def test_an_invalid_narrative_is_asked_for_again_then_reported_unavailable(
        fixture_engine: tuple[Engine, str], ollama: OllamaTestServer) -> None:
    engine, configuration_id = fixture_engine
    ollama.script(Reply.json({"executive_summary": ""}), Reply.text("no"))
    report = engine.analytics.report(configuration_id)
    assert report["narrative"]["status"] == "unavailable"
    assert "invalid analytics narrative twice" in report["narrative"]["reason"]
    assert report["deterministic"]["conversations"]["total"] == 22


def test_with_ollama_down_the_numbers_are_there_and_the_narrative_says_why_not(engine: Engine) -> None:
    configuration, _ = engine.configurations.create({"tag": "Offline", "extraction_fields": FIELDS[:1]})
    german = "[00:00:00] Agent: Guten Tag, wie kann ich helfen?\n[00:00:20] Customer: Meine Rechnung ist falsch.\n" \
             "[00:01:00] Agent: Tschüss."
    run_transcript(engine, german, configuration.configuration_id, recorded_at="2025-05-02T09:00:00Z")
    run_transcript(engine, german.replace("falsch", "zu hoch"), configuration.configuration_id,
                   recorded_at="2025-05-04T09:00:00Z")
    run_transcript(engine, "[00:00:00] Agent: Hello, how can I help you today?\n[00:00:30] Customer: My bill is "
                   "wrong again.\n[00:02:00] Agent: Goodbye.", configuration.configuration_id,
                   recorded_at="2025-05-04T10:00:00Z")
    report = engine.analytics.report(configuration.configuration_id)
    numbers = report["deterministic"]
    assert numbers["conversations"]["total"] == 3
    assert numbers["conversations"]["llm_status"] == {"completed": 0, "pending": 3, "not_requested": 0}
    assert numbers["duration_seconds"]["total"] == 61.0 + 61.0 + 121.0
    assert numbers["per_day"] == [{"date": "2025-05-02", "count": 1}, {"date": "2025-05-03", "count": 0},
                                  {"date": "2025-05-04", "count": 2}]
    assert numbers["fields"][0] | {"values": None} == {
        "name": "sentiment", "type": "string", "allowed_values": ["POSITIVE", "NEGATIVE", "NEUTRAL"], "valid": 0,
        "missing": 0, "pending": 3, "distinct_values": 0, "values": None, "numeric": None, "other_values": 0}
    # df: the majority language of the configuration's transcriptions (2 German, 1 English).
    assert report["language"]["resolved"] == "de" and report["language"]["source"] == "majority"
    narrative = report["narrative"]
    assert narrative["status"] == "unavailable"
    assert "Ollama is not running" in narrative["reason"] and "`ollama serve`" in narrative["reason"]
    assert narrative["executive_summary"] is None and narrative["insights"] == []


def test_an_empty_configuration_reports_zeros_and_asks_no_llm(llm_engine: Engine, ollama: OllamaTestServer) -> None:
    configuration, _ = llm_engine.configurations.create({"tag": "Empty", "extraction_fields": FIELDS})
    report = llm_engine.analytics.report(configuration.configuration_id)
    numbers = report["deterministic"]
    assert numbers["conversations"]["total"] == 0
    assert numbers["duration_seconds"]["total"] == 0.0 and numbers["duration_seconds"]["average"] is None
    assert all(b["count"] == 0 for b in numbers["duration_seconds"]["histogram"])
    assert numbers["languages"] == [] and numbers["per_day"] == [] and numbers["talk_time"] == []
    assert [f["pending"] for f in numbers["fields"]] == [0, 0, 0, 0]
    assert report["language"] == {"requested": "df", "resolved": "en", "name": "English", "source": "fallback"}
    assert report["narrative"]["status"] == "no_data"
    assert ollama.chat_requests == []


def test_an_unknown_configuration_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.analytics.report("no-such-configuration")


def test_df_without_any_detected_language_falls_back_to_english(settings: Settings) -> None:
    from heard_local.domain import Configuration

    configuration = Configuration.model_validate({
        "tag": "x", "configuration_id": "c", "client_id": "local", "created_at": "2025-01-01T00:00:00Z",
        "analytics_language": "df"})
    assert resolve_analytics_language(configuration, None)["source"] == "fallback"
    assert resolve_analytics_language(configuration, "fr")["resolved"] == "fr"
