"""The LLM part of the analytics report, the pure part: executive summary, key themes, actionable
insights, written from the deterministic numbers and a sample of conversation summaries.

The numbers are computed in DuckDB beforehand (store/analytics.py); the model only puts them into
words, and is told to quote them, not to compute. Summaries are added, most recent first, until the
context budget is spent, which is what makes the report qualitative rather than a table read aloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from heard_local.pipeline.chunking import estimate_tokens
from heard_local.pipeline.prompts import NARRATIVE_SYSTEM, narrative_request
from heard_local.pipeline.structured import InvalidAnswer, JsonChat, ask_json

NARRATIVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "executive_summary": {"type": "string"},
        "key_themes": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
        "insights": {
            "type": "array",
            "maxItems": 8,
            "items": {
                "type": "object",
                "properties": {"finding": {"type": "string"}, "recommendation": {"type": "string"}},
                "required": ["finding", "recommendation"],
            },
        },
    },
    "required": ["executive_summary", "key_themes", "insights"],
}
_OUTPUT_TOKENS = 1200
_SUMMARY_CHARS = 600  # one conversation's summary is cut to this in the prompt
_TOP_VALUES = 5
_RECENT_DAYS = 14


@dataclass
class Narrative:
    executive_summary: str
    key_themes: list[str] = field(default_factory=list)
    insights: list[dict[str, str]] = field(default_factory=list)
    summaries_used: int = 0  # how many conversation summaries fitted in the prompt


class NarrativeWriter(Protocol):
    """What the analytics report needs from an LLM adapter (OllamaLlm implements it)."""

    def narrate(self, facts: dict[str, Any], summaries: list[str], language: str | None,
                instructions: str | None = None) -> Narrative: ...


def _texts(raw: Any) -> list[str]:
    return [" ".join(t.split()) for t in raw if isinstance(t, str) and t.strip()] if isinstance(raw, list) else []


def _validate(answer: dict[str, Any]) -> Narrative:
    summary = answer.get("executive_summary")
    if not isinstance(summary, str) or not summary.strip():
        raise InvalidAnswer('"executive_summary" must be a non-empty text')
    insights = []
    for item in answer.get("insights") or []:
        if isinstance(item, dict) and isinstance(item.get("finding"), str) and item["finding"].strip():
            recommendation = item.get("recommendation")
            insights.append({"finding": item["finding"].strip(),
                             "recommendation": recommendation.strip() if isinstance(recommendation, str) else ""})
    return Narrative(executive_summary=summary.strip(), key_themes=_texts(answer.get("key_themes")),
                     insights=insights)


def facts_for_prompt(deterministic: dict[str, Any]) -> dict[str, Any]:
    """The report's numbers, trimmed to what a narrative needs (top values, recent days)."""
    per_day = deterministic.get("per_day", [])
    busiest = max(per_day, key=lambda d: d["count"]) if per_day else None
    return {
        "conversations": deterministic["conversations"]["total"],
        "duration_seconds": {k: v for k, v in deterministic["duration_seconds"].items() if k != "histogram"},
        "duration_histogram": [{b["label"]: b["count"]} for b in deterministic["duration_seconds"]["histogram"]
                               if b["count"]],
        "speakers_per_conversation": {k: v for k, v in deterministic["speakers"].items() if k != "distribution"},
        "languages": deterministic["languages"][:_TOP_VALUES],
        "channels": deterministic.get("channels", [])[:_TOP_VALUES],
        "talk_time_by_role": deterministic.get("talk_time", [])[:_TOP_VALUES],
        "fields": [
            {"name": f["name"], "type": f["type"], "answered": f["valid"], "not_answered": f["missing"],
             "not_extracted_yet": f["pending"], "top_values": f["values"][:_TOP_VALUES],
             **({"numeric": f["numeric"]} if f.get("numeric") else {})}
            for f in deterministic["fields"]
        ],
        "period": {"first_day": per_day[0]["date"] if per_day else None,
                   "last_day": per_day[-1]["date"] if per_day else None,
                   "busiest_day": busiest, "recent_days": per_day[-_RECENT_DAYS:]},
    }


def write_narrative(facts: dict[str, Any], summaries: list[str], language: str | None, chat: JsonChat, *,
                    context_tokens: int, instructions: str | None = None) -> Narrative:
    overhead = estimate_tokens(NARRATIVE_SYSTEM + narrative_request(facts, [], language, instructions))
    budget = context_tokens - overhead - min(_OUTPUT_TOKENS, context_tokens // 3)
    chosen: list[str] = []
    for summary in summaries:
        text = " ".join(summary.split())
        text = text if len(text) <= _SUMMARY_CHARS else text[:_SUMMARY_CHARS].rsplit(" ", 1)[0] + " …"
        cost = estimate_tokens(f"- {text}\n")
        if cost > budget:
            break
        chosen.append(text)
        budget -= cost
    messages = [{"role": "system", "content": NARRATIVE_SYSTEM},
                {"role": "user", "content": narrative_request(facts, chosen, language, instructions)}]
    narrative = ask_json(chat, messages, NARRATIVE_SCHEMA, _validate, temperature=0.3, task="analytics narrative")
    narrative.summaries_used = len(chosen)
    return narrative
