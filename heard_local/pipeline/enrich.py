"""The LLM stages (field extraction, summary) applied to a stored conversation.

They never decide whether a transcription completes: when the LLM cannot answer, the conversation is
kept and the LLM work is marked pending with the reason, to be re-run later.
"""

from __future__ import annotations

from dataclasses import dataclass

from heard_local.domain import Configuration, Fields, LlmStatus, Summary
from heard_local.domain.languages import DETECT
from heard_local.errors import LlmUnavailableError
from heard_local.pipeline.progress import ProgressHook, StepHook
from heard_local.pipeline.protocols import FieldExtractor, LlmContext, Summarizer


@dataclass
class EnrichmentResult:
    fields: Fields | None
    summary: Summary | None
    status: LlmStatus
    pending_reason: str | None = None


def wants_llm(configuration: Configuration) -> bool:
    return bool(configuration.extraction_fields) or configuration.summary


def summary_language(configuration: Configuration, detected: str | None) -> str | None:
    """``df`` means the language detected for this recording."""
    return detected if configuration.summary_language == DETECT else configuration.summary_language


def enrich(context: LlmContext, configuration: Configuration, *, extractor: FieldExtractor | None,
           summarizer: Summarizer | None, hook: ProgressHook) -> EnrichmentResult:
    if not wants_llm(configuration):
        return EnrichmentResult(fields=None, summary=None, status=LlmStatus.NOT_REQUESTED)
    fields: Fields | None = None
    summary: Summary | None = None
    try:
        if configuration.extraction_fields:
            if extractor is None:
                raise LlmUnavailableError("No LLM is configured for field extraction.")
            fields = extractor.extract(context, configuration.extraction_fields, StepHook(hook, "extract"))
        if configuration.summary:
            if summarizer is None:
                raise LlmUnavailableError("No LLM is configured for summaries.")
            summary = summarizer.summarize(context, summary_language(configuration, context.language),
                                           StepHook(hook, "summarize"))
    except LlmUnavailableError as exc:
        return EnrichmentResult(fields=fields, summary=summary, status=LlmStatus.PENDING,
                                pending_reason=str(exc))
    return EnrichmentResult(fields=fields, summary=summary, status=LlmStatus.COMPLETED)
