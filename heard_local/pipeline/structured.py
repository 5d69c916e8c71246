"""Asking a local LLM for JSON: the chat seam, parsing an answer, and the one retry with feedback.

The LLM stages (extraction, summaries, the analytics narrative) are written against
:class:`JsonChat`, a plain callable, so they stay pure and testable; the Ollama adapter supplies the
real one (structured outputs: ``format`` = the JSON schema).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from heard_local.errors import LlmInvalidOutputError

T = TypeVar("T")
Message = dict[str, str]

# An answer echoed back to the model in a retry is cut to this many characters.
_ECHO_CHARS = 2000
_OPENING_FENCE = re.compile(r"\s*```")
_JSON_TAG = re.compile(r"json", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s*")


class JsonChat(Protocol):
    """Send ``messages`` and return the model's raw answer, constrained to ``schema`` where the
    server supports it. Raises LlmUnavailableError when the model cannot be reached."""

    def __call__(self, messages: list[Message], schema: dict[str, Any], *, temperature: float) -> str: ...


class InvalidAnswer(ValueError):
    """The answer is not what was asked for; the message is shown to the model in the retry."""


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text`` (a markdown code fence around it is tolerated)."""
    fenced = fenced_body(text or "")
    body = fenced if fenced is not None else (text or "").strip()
    if not body:
        raise InvalidAnswer("the answer was empty")
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"the answer is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") \
            from None
    if not isinstance(value, dict):
        raise InvalidAnswer(f"the answer must be a JSON object, not {type(value).__name__}")
    return value


def fenced_body(text: str) -> str | None:
    """What ``^\\s*```(?:json)?\\s*(?P<body>.*?)\\s*```\\s*$`` (DOTALL, IGNORECASE) captures, in linear time:
    that pattern re-scanned the whitespace after every character of the body (quadratic in an answer
    padded with spaces). The closing fence is the last three characters before trailing whitespace; the
    body starts after the opening fence, an optional "json" and whitespace, unless the closing fence
    comes earlier (then the body starts there, or without the "json"), and ends before the whitespace
    preceding the closing fence."""
    opening = _OPENING_FENCE.match(text)
    trimmed = text.rstrip()
    if opening is None or not trimmed.endswith("```"):
        return None
    closing = len(trimmed) - 3
    after_fence = opening.end()
    tag = _JSON_TAG.match(text, after_fence)
    for first in ([tag.end()] if tag else []) + [after_fence]:
        if closing >= first:
            start = min(_WHITESPACE.match(text, first).end(), closing)  # type: ignore[union-attr]
            return text[start:closing].rstrip()
    return None


def retry_messages(messages: list[Message], answer: str, problem: str) -> list[Message]:
    """The conversation for the second attempt: the bad answer and what was wrong with it."""
    return [
        *messages,
        {"role": "assistant", "content": answer[:_ECHO_CHARS]},
        {"role": "user", "content": f"That answer was not valid: {problem}. Answer again with only a JSON "
                                    "object that matches the requested schema exactly."},
    ]


def ask_json(chat: JsonChat, messages: list[Message], schema: dict[str, Any], validate: Callable[[dict[str, Any]], T],
             *, temperature: float, task: str) -> T:
    """Ask, parse and validate; on an invalid answer ask once more, telling the model what was wrong.

    ``validate`` turns the parsed object into the result or raises :class:`InvalidAnswer`.
    """
    answer = chat(messages, schema, temperature=temperature)
    try:
        return validate(parse_json_object(answer))
    except InvalidAnswer as first:
        problem = str(first)
    answer = chat(retry_messages(messages, answer, problem), schema, temperature=temperature)
    try:
        return validate(parse_json_object(answer))
    except InvalidAnswer as second:
        raise LlmInvalidOutputError(
            f"The model returned an invalid {task} twice ({second}). Re-run it later, or set HEARD_OLLAMA_MODEL "
            "to a larger model."
        ) from None
