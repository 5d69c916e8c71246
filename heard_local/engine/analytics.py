"""The "Executive and Qualitative Analysis Report" of a configuration.

Two parts: ``deterministic`` numbers computed in DuckDB (store/analytics.py; they never need Ollama)
and a ``narrative`` written by the local LLM in the configuration's ``analytics_language`` (``df`` =
the majority language of its completed transcriptions; ties go to the alphabetically first code; no
detected language at all falls back to English). When Ollama cannot answer, the narrative says why
and the numbers are still there. A narrative is kept in memory and reused while the numbers, the
summaries it was written from, the language and the model are unchanged, so a report page can be
reloaded without waiting for the LLM again.

The report (``GET /api/v1/configurations/{id}/analytics``), ``schema_version`` 1::

    {
      "report": "executive_and_qualitative_analysis",
      "schema_version": 1,
      "configuration_id": "…", "configuration_tag": "Sales calls",
      "generated_at": "2025-10-03T22:25:00Z",                # UTC
      "language": {"requested": "df",                       # the configuration's analytics_language
                   "resolved": "en", "name": "English",     # what the narrative is written in
                   "source": "configuration" | "majority" | "fallback"},
      "deterministic": {                                    # COMPLETED transcriptions only
        "conversations": {"total": 20,
                          "by_status": {"PENDING": 0, "IN_PROGRESS": 0, "COMPLETED": 20, "FAILED": 1},
                          "llm_status": {"completed": 18, "pending": 2, "not_requested": 0}},
        "duration_seconds": {"known": 20, "total": 3605.0, "average": 180.25, "min": 31.0, "max": 900.0,
                             "median": 121.0,               # null when no duration is known
                             "histogram": [{"label": "< 1 min", "min_seconds": 0, "max_seconds": 60,
                                            "count": 3}, …]},   # 8 fixed buckets, last max_seconds null
        "speakers": {"average": 2.1, "min": 1, "max": 3,
                     "distribution": [{"speakers": 2, "count": 18}, …]},
        "languages": [{"language": "en", "name": "English", "count": 15, "share": 0.75}, …],  # null = unknown
        "majority_language": "en",
        "channels": [{"channel": "voice", "count": 12, "share": 0.6}, …],
        "talk_time": [{"role": "Agent", "seconds": 1800.5, "share": 0.52, "segments": 310,
                       "conversations": 20}, …],           # timed segments only; role null = unnamed
        "segments": {"total": 640, "average_per_conversation": 32.0},
        "fields": [{"name": "sentiment", "type": "string",
                    "allowed_values": ["POSITIVE", "NEGATIVE", "NEUTRAL"],   # from "Must be one of: …"
                    "valid": 17,          # has a value
                    "missing": 1,         # extracted, the conversation did not say (null)
                    "pending": 2,         # not extracted yet (LLM pending, or field added since)
                    "distinct_values": 3,
                    "values": [{"value": "POSITIVE", "count": 9, "share": 0.5294}, …],  # top 20; arrays
                                          # count conversations per item; enums/booleans list all values
                    "other_values": 0,    # distinct values beyond those listed
                    "numeric": null | {"min", "max", "average", "median", "sum"}}, …],  # number fields
        "per_day": [{"date": "2025-10-01", "count": 3}, …]   # day of metadata.recorded_at, else of
      },                                                    # submission (UTC); gaps filled with 0
      "narrative": {
        "status": "completed" | "unavailable" | "no_data" | "not_requested",
        "reason": null | "Ollama is not running at …: start it with `ollama serve` …",
        "language": "en", "model": "llama3.2:3b",
        "executive_summary": "…" | null,
        "key_themes": ["…"],
        "insights": [{"finding": "…", "recommendation": "…"}],
        "based_on": {"conversations": 20, "summaries": 12},
        "cached": false
      }
    }
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from heard_local.config import Settings
from heard_local.domain import Configuration
from heard_local.domain.clock import utcnow
from heard_local.domain.languages import DETECT, language_name
from heard_local.engine.configurations import ConfigurationService
from heard_local.engine.models import ModelManager
from heard_local.errors import LlmUnavailableError
from heard_local.pipeline.field_choices import parse_choices
from heard_local.pipeline.narrative import facts_for_prompt
from heard_local.store import Store
from heard_local.store.analytics import FieldDefinition

log = logging.getLogger(__name__)

REPORT_NAME = "executive_and_qualitative_analysis"
SCHEMA_VERSION = 1
FALLBACK_LANGUAGE = "en"
SUMMARIES_FOR_NARRATIVE = 200


def resolve_analytics_language(configuration: Configuration, majority: str | None) -> dict[str, Any]:
    if configuration.analytics_language != DETECT:
        code, source = configuration.analytics_language, "configuration"
    elif majority is not None:
        code, source = majority, "majority"
    else:
        code, source = FALLBACK_LANGUAGE, "fallback"
    return {"requested": configuration.analytics_language, "resolved": code, "name": language_name(code),
            "source": source}


def field_definitions(configuration: Configuration) -> list[FieldDefinition]:
    return [FieldDefinition(name=f.name, type=f.type.value, allowed_values=parse_choices(f.description))
            for f in configuration.extraction_fields]


class AnalyticsService:
    def __init__(self, store: Store, models: ModelManager, settings: Settings,
                 configurations: ConfigurationService):
        self.store = store
        self.models = models
        self.settings = settings
        self._configurations = configurations
        self._narratives: dict[str, tuple[str, dict[str, Any]]] = {}  # configuration -> (fingerprint, narrative)
        self._lock = threading.Lock()

    def report(self, configuration_id: str, *, include_narrative: bool = True) -> dict[str, Any]:
        """The configuration's Executive and Qualitative Analysis Report (shape above). Its numbers never
        need Ollama; when the narrative cannot be written it says why."""
        configuration = self._configurations.get(configuration_id)
        deterministic = self.store.analytics.deterministic_report(configuration.configuration_id,
                                                                  field_definitions(configuration))
        language = resolve_analytics_language(configuration, deterministic["majority_language"])
        return {
            "report": REPORT_NAME,
            "schema_version": SCHEMA_VERSION,
            "configuration_id": configuration.configuration_id,
            "configuration_tag": configuration.tag,
            "generated_at": utcnow().isoformat().replace("+00:00", "Z"),
            "language": language,
            "deterministic": deterministic,
            "narrative": self._narrative(configuration, deterministic, language["resolved"], include_narrative),
        }

    def _narrative(self, configuration: Configuration, deterministic: dict[str, Any], language: str,
                   include: bool) -> dict[str, Any]:
        conversations = deterministic["conversations"]["total"]
        base: dict[str, Any] = {
            "status": "not_requested", "reason": None, "language": language, "model": self.settings.ollama_model,
            "executive_summary": None, "key_themes": [], "insights": [],
            "based_on": {"conversations": conversations, "summaries": 0}, "cached": False,
        }
        if not include:
            return {**base, "reason": "The narrative was not requested."}
        if conversations == 0:
            return {**base, "status": "no_data", "reason": "No completed conversations in this configuration yet."}
        facts = facts_for_prompt(deterministic)
        summaries = self.store.analytics.recent_summaries(configuration.configuration_id, SUMMARIES_FOR_NARRATIVE)
        fingerprint = hashlib.sha256(json.dumps(
            [facts, summaries, language, self.settings.ollama_model, configuration.analytics_instructions],
            sort_keys=True, default=str
        ).encode()).hexdigest()
        with self._lock:
            cached = self._narratives.get(configuration.configuration_id)
        if cached is not None and cached[0] == fingerprint:
            return {**cached[1], "cached": True}
        try:
            writer = self.models.llm.get()
            narrative = writer.narrate(facts, summaries, language, configuration.analytics_instructions)
        except ImportError as exc:
            return {**base, "status": "unavailable", "reason": f"The LLM adapter is not available: {exc}"}
        except LlmUnavailableError as exc:
            log.info("analytics narrative for %s unavailable: %s", configuration.configuration_id, exc)
            return {**base, "status": "unavailable", "reason": str(exc)}
        result = {
            **base, "status": "completed", "executive_summary": narrative.executive_summary,
            "key_themes": narrative.key_themes, "insights": narrative.insights,
            "based_on": {"conversations": conversations, "summaries": narrative.summaries_used},
        }
        with self._lock:
            self._narratives[configuration.configuration_id] = (fingerprint, result)
        return result
