"""Typed field extraction with evidence, the pure part (the Ollama adapter supplies the chat).

From a configuration's ``extraction_fields`` it builds the JSON schema for Ollama's structured outputs:
one object per field holding ``evidence`` (quotes with their segment number; asked for first, so the
model finds the words before it states a value) and ``value`` (``string`` / ``number`` / ``boolean`` /
``array`` of strings, always nullable). A description such as "Must be one of: POSITIVE, NEGATIVE, or
NEUTRAL" becomes an enumeration, enforced by the schema and again here.

The answer is validated and coerced with pydantic ("15,000" -> 15000, "yes" -> true, "positive" ->
"POSITIVE"); an answer that is not JSON, lacks a field or has a value of the wrong type is asked for
once more, telling the model what was wrong. A field still invalid after that is null (never a
guess); an answer still not JSON fails the stage (LlmInvalidOutputError: marked pending, re-runnable).
"Not mentioned", "N/A", "" and the like mean null. Each quote is checked against the transcript and
dropped when it does not occur (see evidence.py).

A transcript longer than the model's context is extracted chunk by chunk and merged: list fields take
the union of their items; other fields take the value found with evidence in the most chunks (ties go
to the later chunk, where a conversation usually confirms its figures).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pydantic

from heard_local.domain import ExtractionField, Fields, FieldValue
from heard_local.errors import LlmInvalidOutputError
from heard_local.pipeline.chunking import chunk_lines, estimate_tokens, render_lines
from heard_local.pipeline.evidence import TranscriptIndex, normalize
from heard_local.pipeline.field_choices import parse_choices
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.prompts import EXTRACTION_SYSTEM, describe_field, extraction_request
from heard_local.pipeline.protocols import LlmContext
from heard_local.pipeline.structured import InvalidAnswer, JsonChat, Message, parse_json_object, retry_messages

log = logging.getLogger(__name__)

MAX_EVIDENCE_PER_FIELD = 3
# Output tokens reserved per field (a value and up to three quotes) and for the JSON around them.
_OUTPUT_TOKENS_PER_FIELD = 160
_OUTPUT_TOKENS_BASE = 200

_NULL_WORDS = frozenset({
    "", "null", "none", "nil", "n/a", "na", "unknown", "not mentioned", "not specified", "not provided",
    "not stated", "not available", "not applicable", "no answer", "-", "?",
})
_CURRENCY_AND_UNITS = re.compile(r"[\s$€£¥₹%]|(?<=\d),(?=\d{3}(?!\d))|\b(?:usd|eur|gbp)\b", re.IGNORECASE)

_FLOAT = pydantic.TypeAdapter(float)
_BOOL = pydantic.TypeAdapter(bool)


# --- field specifications and the schema ------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # string | number | boolean | array
    description: str
    choices: tuple[str, ...] | None = None

    @classmethod
    def of(cls, extraction_field: ExtractionField) -> FieldSpec:
        return cls(name=extraction_field.name, type=extraction_field.type.value,
                   description=extraction_field.description, choices=parse_choices(extraction_field.description))

    def prompt_line(self) -> str:
        return describe_field(self.name, self.type, self.description, self.choices)


def value_schema(spec: FieldSpec) -> dict[str, Any]:
    if spec.type == "array":
        items: dict[str, Any] = {"type": "string"}
        if spec.choices:
            items["enum"] = list(spec.choices)
        return {"type": ["array", "null"], "items": items}
    if spec.type == "string" and spec.choices:
        return {"type": ["string", "null"], "enum": [*spec.choices, None]}
    return {"type": [spec.type, "null"]}


def extraction_schema(specs: list[FieldSpec]) -> dict[str, Any]:
    """The JSON schema for Ollama's ``format``: ``{field: {"evidence": [...], "value": ...}}``."""
    evidence = {
        "type": "array",
        "maxItems": MAX_EVIDENCE_PER_FIELD,
        "items": {
            "type": "object",
            "properties": {"segment": {"type": "integer"}, "quote": {"type": "string"}},
            "required": ["segment", "quote"],
        },
    }
    return {
        "type": "object",
        "properties": {
            spec.name: {
                "type": "object",
                "description": spec.description,
                "properties": {"evidence": evidence, "value": value_schema(spec)},
                "required": ["evidence", "value"],
            }
            for spec in specs
        },
        "required": [spec.name for spec in specs],
    }


# --- validation and coercion ------------------------------------------------------------------------


def _is_null_word(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in _NULL_WORDS)


def _choice_key(value: str) -> str:
    return normalize(value).replace(" ", "")


def _canonical_choice(spec: FieldSpec, value: str) -> str:
    assert spec.choices is not None
    wanted = _choice_key(value)
    for choice in spec.choices:
        if _choice_key(choice) == wanted:
            return choice
    raise InvalidAnswer(f"{spec.name}: {value!r} is not one of {', '.join(spec.choices)}")


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _as_text(spec: FieldSpec, raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return _number_text(raw)
    if isinstance(raw, str):
        return " ".join(raw.split())
    raise InvalidAnswer(f"{spec.name}: expected text, got {type(raw).__name__}")


def _coerce_string(spec: FieldSpec, raw: Any) -> str | None:
    if isinstance(raw, list):
        texts = [_as_text(spec, item) for item in raw if not _is_null_word(item)]
        if len(texts) > 1 and spec.choices:
            raise InvalidAnswer(f"{spec.name}: expected one of {', '.join(spec.choices)}, got a list")
        raw = ", ".join(texts)
    text = _as_text(spec, raw)
    if _is_null_word(text):
        return None
    return _canonical_choice(spec, text) if spec.choices else text


def _coerce_number(spec: FieldSpec, raw: Any) -> int | float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise InvalidAnswer(f"{spec.name}: expected a number, got {type(raw).__name__}")
    cleaned = _CURRENCY_AND_UNITS.sub("", raw) if isinstance(raw, str) else raw
    try:
        number = _FLOAT.validate_python(cleaned)
    except pydantic.ValidationError:
        raise InvalidAnswer(f"{spec.name}: expected a number, got {raw!r}") from None
    if not math.isfinite(number):
        raise InvalidAnswer(f"{spec.name}: expected a finite number, got {raw!r}")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _coerce_boolean(spec: FieldSpec, raw: Any) -> bool:
    if not isinstance(raw, bool | int | str):
        raise InvalidAnswer(f"{spec.name}: expected true or false, got {type(raw).__name__}")
    try:
        return _BOOL.validate_python(raw.strip() if isinstance(raw, str) else raw)
    except pydantic.ValidationError:
        raise InvalidAnswer(f"{spec.name}: expected true or false, got {raw!r}") from None


def _coerce_array(spec: FieldSpec, raw: Any) -> list[str] | None:
    items = raw if isinstance(raw, list) else [raw]
    values: list[str] = []
    for item in items:
        if _is_null_word(item):
            continue
        text = _as_text(spec, item)
        if spec.choices:
            text = _canonical_choice(spec, text)
        if text not in values:
            values.append(text)
    return values or None  # an empty list means the conversation named nothing: null, like any other field


def coerce_value(spec: FieldSpec, raw: Any) -> Any:
    """The value in the field's type, or None when unanswered; InvalidAnswer when it cannot be one."""
    if spec.type != "array" and not isinstance(raw, list) and _is_null_word(raw):
        return None
    if spec.type == "array":
        return _coerce_array(spec, raw)
    if isinstance(raw, dict):
        raise InvalidAnswer(f"{spec.name}: expected a {spec.type}, got an object")
    if spec.type == "number":
        if isinstance(raw, list):
            raise InvalidAnswer(f"{spec.name}: expected one number, got a list")
        return _coerce_number(spec, raw)
    if spec.type == "boolean":
        if isinstance(raw, list):
            raise InvalidAnswer(f"{spec.name}: expected true or false, got a list")
        return _coerce_boolean(spec, raw)
    return _coerce_string(spec, raw)


@dataclass
class FieldAnswer:
    value: Any
    cited: list[tuple[str, int | None]] = field(default_factory=list)


def _cited(raw: Any) -> list[tuple[str, int | None]]:
    """The (quote, segment) pairs of an answer's evidence; malformed items are skipped, not fatal."""
    if isinstance(raw, dict | str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    cited: list[tuple[str, int | None]] = []
    for item in raw:
        if isinstance(item, str):
            cited.append((item, None))
        elif isinstance(item, dict):
            quote = item.get("quote", item.get("text"))
            segment = item.get("segment", item.get("segment_index"))
            if isinstance(quote, str):
                hint = segment if isinstance(segment, int) and not isinstance(segment, bool) else None
                cited.append((quote, hint))
    return cited


def read_answer(specs: list[FieldSpec], answer: dict[str, Any]) -> tuple[dict[str, FieldAnswer], list[str]]:
    """The valid fields of a parsed answer, and what is wrong with the others."""
    valid: dict[str, FieldAnswer] = {}
    problems: list[str] = []
    for spec in specs:
        if spec.name not in answer:
            problems.append(f"the field {spec.name} is missing")
            continue
        entry = answer[spec.name]
        # The asked-for shape is {"evidence", "value"}; a bare value is accepted too (no evidence then).
        if isinstance(entry, dict) and ("value" in entry or "evidence" in entry):
            raw, cited = entry.get("value"), _cited(entry.get("evidence"))
        else:
            raw, cited = entry, []
        try:
            value = coerce_value(spec, raw)
        except InvalidAnswer as exc:
            problems.append(str(exc))
            continue
        valid[spec.name] = FieldAnswer(value=value, cited=cited if value is not None else [])
    return valid, problems


# --- asking, per chunk and merged ---------------------------------------------------------------------


def _ask_chunk(chat: JsonChat, specs: list[FieldSpec], messages: list[Message],
               schema: dict[str, Any]) -> dict[str, FieldAnswer]:
    """One chunk's answers, with one retry for an answer that is not JSON or has invalid fields."""
    answer = chat(messages, schema, temperature=0.0)
    try:
        valid, problems = read_answer(specs, parse_json_object(answer))
    except InvalidAnswer as exc:
        valid, problems = {}, [str(exc)]
    if not problems:
        return valid
    retry = chat(retry_messages(messages, answer, "; ".join(problems)), schema, temperature=0.0)
    try:
        second, second_problems = read_answer(specs, parse_json_object(retry))
    except InvalidAnswer as exc:
        if valid:  # the first answer was JSON: keep its valid fields, the others stay null
            log.warning("extraction retry was not JSON either (%s); invalid fields are null", exc)
            return valid
        raise LlmInvalidOutputError(
            f"The model returned invalid JSON for the field extraction twice ({exc}). Re-run it later, or set "
            "HEARD_OLLAMA_MODEL to a larger model."
        ) from None
    if second_problems:
        log.warning("extraction fields still invalid after a retry, left null: %s", "; ".join(second_problems))
    return {**valid, **second}


def _merge_scalar(candidates: list[tuple[int, FieldAnswer, list[Any]]]) -> tuple[Any, list[Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for chunk_index, answer, evidence in candidates:
        key = normalize(str(answer.value)) if isinstance(answer.value, str) else repr(answer.value)
        group = groups.setdefault(key, {"value": answer.value, "support": 0, "last": -1, "evidence": []})
        group["support"] += 1 if evidence else 0
        group["last"] = chunk_index
        group["evidence"] += [e for e in evidence if e not in group["evidence"]]
    best = max(groups.values(), key=lambda g: (g["support"], g["last"]))
    return best["value"], best["evidence"][:MAX_EVIDENCE_PER_FIELD]


def merge_chunk_answers(specs: list[FieldSpec], per_chunk: list[dict[str, FieldAnswer]],
                        index: TranscriptIndex) -> Fields:
    """One Fields from the answers of every chunk, with verified evidence only."""
    values: list[FieldValue] = []
    for spec in specs:
        candidates = [
            (chunk_index, answers[spec.name], index.verify(answers[spec.name].cited))
            for chunk_index, answers in enumerate(per_chunk)
            if spec.name in answers and answers[spec.name].value is not None
        ]
        if not candidates:
            values.append(FieldValue(name=spec.name, value=None, evidence=[]))
        elif spec.type == "array":
            items: list[str] = []
            evidence: list[Any] = []
            for _, answer, verified in candidates:
                items += [item for item in answer.value if item not in items]
                evidence += [e for e in verified if e not in evidence]
            values.append(FieldValue(name=spec.name, value=items, evidence=evidence[:MAX_EVIDENCE_PER_FIELD * 2]))
        else:
            value, evidence = _merge_scalar(candidates)
            values.append(FieldValue(name=spec.name, value=value, evidence=evidence))
    return Fields(fields=values)


def extract_fields(context: LlmContext, fields: list[ExtractionField], chat: JsonChat, *, context_tokens: int,
                   hook: ProgressHook) -> Fields:
    """Every configured field for one conversation: typed value (or null) and verified evidence."""
    specs = [FieldSpec.of(f) for f in fields]
    if not specs:
        return Fields(fields=[])
    lines = render_lines(context.segments, context.speaker_labels)
    index = TranscriptIndex(context.segments, context.speaker_labels)
    if not lines:  # nothing was said: nothing to extract, and no reason to ask a model
        return Fields(fields=[FieldValue(name=s.name, value=None) for s in specs])
    field_lines = [spec.prompt_line() for spec in specs]
    schema = extraction_schema(specs)
    overhead = estimate_tokens(EXTRACTION_SYSTEM + extraction_request(field_lines, "", (1, 1)))
    budget = context_tokens - overhead - _OUTPUT_TOKENS_BASE - _OUTPUT_TOKENS_PER_FIELD * len(specs)
    chunks = chunk_lines(lines, budget)
    per_chunk: list[dict[str, FieldAnswer]] = []
    for number, chunk in enumerate(chunks, start=1):
        hook("chunk", completed=number - 1, total=len(chunks))
        part = (number, len(chunks)) if len(chunks) > 1 else None
        messages = [
            {"role": "system", "content": EXTRACTION_SYSTEM},
            {"role": "user", "content": extraction_request(field_lines, chunk.text, part)},
        ]
        per_chunk.append(_ask_chunk(chat, specs, messages, schema))
    hook("chunk", completed=len(chunks), total=len(chunks))
    return merge_chunk_answers(specs, per_chunk, index)
