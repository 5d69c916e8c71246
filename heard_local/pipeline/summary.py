"""Summaries, the pure part: one call when the conversation fits the model's context, map-reduce when
it does not (never truncation).

Map: every chunk of the transcript (see chunking.py) is summarised on its own, in order. Reduce: the
partial summaries are combined into one; when even they do not fit together they are combined in
batches first, level by level, until one batch remains. Every call asks for ``{"summary": "..."}``
through a JSON schema (no "Here is your summary:" preambles), in the summary language: a language
code, or None for "the conversation's own language" (the ``df`` rule is applied by the caller,
enrich.summary_language).
"""

from __future__ import annotations

from typing import Any

from heard_local.domain import Summary
from heard_local.pipeline.chunking import chunk_lines, chunk_texts, estimate_tokens, render_lines
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.prompts import SUMMARY_SYSTEM, combine_request, summary_request
from heard_local.pipeline.protocols import LlmContext
from heard_local.pipeline.structured import InvalidAnswer, JsonChat, ask_json

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
}
_OUTPUT_TOKENS = 700
_TEMPERATURE = 0.2


def _summary_text(answer: dict[str, Any]) -> str:
    text = answer.get("summary")
    if not isinstance(text, str) or not text.strip():
        raise InvalidAnswer('"summary" must be a non-empty text')
    return text.strip()


def output_reserve(context_tokens: int) -> int:
    return min(_OUTPUT_TOKENS, context_tokens // 4)


def _ask(chat: JsonChat, prompt: str) -> str:
    messages = [{"role": "system", "content": SUMMARY_SYSTEM}, {"role": "user", "content": prompt}]
    return ask_json(chat, messages, SUMMARY_SCHEMA, _summary_text, temperature=_TEMPERATURE, task="summary")


def reduce_summaries(partials: list[str], language: str | None, chat: JsonChat, *, context_tokens: int,
                     hook: ProgressHook, instructions: str | None = None) -> str:
    """Combine consecutive partial summaries into one, in as many levels as the context requires."""
    overhead = estimate_tokens(SUMMARY_SYSTEM + combine_request([], language, final=True, instructions=instructions))
    budget = context_tokens - overhead - output_reserve(context_tokens)
    level = 0
    while True:
        batches = chunk_texts(partials, budget)
        if len(batches) == 1:
            hook("reduce", completed=level, total=level + 1)
            return _ask(chat, combine_request(batches[0], language, final=True, instructions=instructions))
        if len(batches) == len(partials):  # none fit together: pair them anyway so every level shrinks
            batches = [partials[i:i + 2] for i in range(0, len(partials), 2)]
        hook("reduce", completed=level, total=level + 2)
        partials = [_ask(chat, combine_request(batch, language, final=False)) if len(batch) > 1 else batch[0]
                    for batch in batches]
        level += 1


def summarize_conversation(context: LlmContext, language: str | None, chat: JsonChat, *, context_tokens: int,
                           hook: ProgressHook) -> Summary:
    lines = render_lines(context.segments, context.speaker_labels)
    if not lines:  # nothing was said; nothing to ask a model about
        return Summary(summary="")
    instructions = context.summary_instructions
    overhead = estimate_tokens(SUMMARY_SYSTEM + summary_request("", language, None, instructions))
    chunks = chunk_lines(lines, context_tokens - overhead - output_reserve(context_tokens))
    if len(chunks) == 1:
        hook("summary", completed=0, total=1)
        text = _ask(chat, summary_request(chunks[0].text, language, None, instructions))
        hook("summary", completed=1, total=1)
        return Summary(summary=text)
    partials: list[str] = []
    for number, chunk in enumerate(chunks, start=1):
        hook("map", completed=number - 1, total=len(chunks))
        partials.append(_ask(chat, summary_request(chunk.text, language, (number, len(chunks)))))
    hook("map", completed=len(chunks), total=len(chunks))
    return Summary(summary=reduce_summaries(partials, language, chat, context_tokens=context_tokens, hook=hook,
                                            instructions=instructions))
