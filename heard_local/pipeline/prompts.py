"""The words heard-local says to the local LLM, in one place so they can be read and tuned together.

Small local models follow short, concrete instructions best: say what to return, say that a missing
answer is null, and never ask for anything the JSON schema does not also enforce.
"""

from __future__ import annotations

import json
from typing import Any

from heard_local.domain.languages import language_name

EXTRACTION_SYSTEM = """\
You extract structured data from a conversation transcript.
Each transcript line starts with its segment number in brackets, then the speaker, then what they said.
For every requested field return an object with:
- "evidence": up to 3 short quotes copied word for word from the transcript that support the value, each with \
the number of the segment it comes from;
- "value": the answer, of the requested type.
Use only what the conversation says. If the conversation does not answer a field, its value is null and its \
evidence is an empty list. Never guess, never invent, never use example values from the field descriptions.
Answer with one JSON object and nothing else."""

SUMMARY_SYSTEM = """\
You summarise conversations (calls, meetings, chats) for the people who took part and their colleagues.
Write a faithful, concise summary: who talked to whom about what, the key facts, decisions, problems, \
and agreed next steps. Use only what the conversation says; invent nothing.
Answer with one JSON object {"summary": "..."} and nothing else."""

NARRATIVE_SYSTEM = """\
You are an analyst writing the "Executive and Qualitative Analysis Report" for a set of recorded \
conversations (customer calls, meetings, chats).
You get the report's numbers (already computed; quote them exactly, never recompute or invent numbers) and, \
where available, short summaries of individual conversations.
Write for a busy manager: what happened, what stands out, what to do about it.
Answer with one JSON object and nothing else."""

_TYPE_GUIDANCE = {
    "string": "text",
    "number": "a number (digits only, no units or currency symbols)",
    "boolean": "true or false",
    "array": "a list of short texts",
}


def write_in(language: str | None) -> str:
    if language is None:
        return "Write in the same language as the conversation."
    return f"Write in {language_name(language)}."


def describe_field(name: str, type_: str, description: str, choices: tuple[str, ...] | None) -> str:
    guidance = _TYPE_GUIDANCE.get(type_, type_)
    if choices:
        allowed = ", ".join(choices)
        guidance = f"a list of items from: {allowed}" if type_ == "array" else f"exactly one of: {allowed}"
    return f"- {name} ({guidance}): {' '.join(description.split())}"


def extraction_request(field_lines: list[str], transcript: str, part: tuple[int, int] | None) -> str:
    where = ""
    if part is not None:
        where = (f"This is part {part[0]} of {part[1]} of a long conversation; answer from this part only "
                 "(null where this part does not say).\n\n")
    return f"{where}Fields to extract:\n" + "\n".join(field_lines) + f"\n\nTranscript:\n{transcript}"


def _as_asked(instructions: str) -> str:
    return ("Write the summary as the reader asked (the \"summary\" text holds the whole of it), following "
            f"these instructions:\n<instructions>\n{instructions}\n</instructions>")


def summary_request(transcript: str, language: str | None, part: tuple[int, int] | None,
                    instructions: str | None = None) -> str:
    if part is None:
        task = "Summarise this conversation in 3 to 8 sentences."
        if instructions:
            task = f"Summarise this conversation. {_as_asked(instructions)}\n"
    else:
        task = (f"This is part {part[0]} of {part[1]} of a long conversation. Summarise this part in 3 to 6 "
                "sentences; keep names, numbers, decisions and open questions, they are needed later.")
    return f"{task} {write_in(language)}\n\nTranscript:\n{transcript}"


def combine_request(partials: list[str], language: str | None, final: bool, instructions: str | None = None) -> str:
    numbered = "\n\n".join(f"Part {i}:\n{text}" for i, text in enumerate(partials, start=1))
    goal = ("one summary of the whole conversation in 4 to 10 sentences" if final
            else "one shorter summary of these consecutive parts, keeping names, numbers and decisions")
    if final and instructions:
        goal = f"one summary of the whole conversation. {_as_asked(instructions)}\n"
    return (f"These are summaries of consecutive parts of one long conversation, in order. Combine them into "
            f"{goal}. {write_in(language)}\n\n{numbered}")


def narrative_request(facts: dict[str, Any], summaries: list[str], language: str | None,
                      instructions: str | None = None) -> str:
    parts = [
        "Write the report from these numbers about the configuration's conversations:",
        json.dumps(facts, ensure_ascii=False, separators=(",", ":")),
    ]
    if summaries:
        parts.append(f"Summaries of {len(summaries)} of the conversations (most recent first):")
        parts.append("\n".join(f"- {s}" for s in summaries))
    parts.append(
        "Return: \"executive_summary\" (one paragraph of 4 to 8 sentences), \"key_themes\" (3 to 6 short "
        "phrases), \"insights\" (2 to 5 items, each a \"finding\" grounded in the numbers or summaries and a "
        f"concrete \"recommendation\"). {write_in(language or 'en')}"
    )
    if instructions:
        parts.append("The reader of the report also asks for this (keep the JSON shape above):\n"
                     f"<instructions>\n{instructions}\n</instructions>")
    return "\n\n".join(parts)
