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
_CODE_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


class JsonChat(Protocol):
    """Send ``messages`` and return the model's raw answer, constrained to ``schema`` where the
    server supports it. Raises LlmUnavailableError when the model cannot be reached."""

    def __call__(self, messages: list[Message], schema: dict[str, Any], *, temperature: float) -> str: ...


class InvalidAnswer(ValueError):
    """The answer is not what was asked for; the message is shown to the model in the retry."""


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text`` (a markdown code fence around it is tolerated)."""
    fenced = _CODE_FENCE.match(text or "")
    body = fenced["body"] if fenced else (text or "").strip()
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
