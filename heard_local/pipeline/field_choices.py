"""The enumeration a field's description states ("Must be one of: POSITIVE, NEGATIVE, or NEUTRAL"), read
in linear time whatever the description (see the separator's comment)."""

from __future__ import annotations

import re

# "Must be one of: A, B, or C", "One of the following categories: …", "Possible values: …".
_CHOICES_INTRO = re.compile(
    r"(?:\b(?:must|should|has\s+to|have\s+to|can\s+only|will)\s+be\s+(?:exactly\s+)?one\s+of"
    r"(?:\s+the\s+following(?:\s+\w+)?)?\s*:?"
    r"|\bone\s+of(?:\s+the\s+following(?:\s+\w+)?)?\s*:"
    r"|\b(?:possible|allowed|valid|accepted)\s+values?\s*(?:are\s*:?|:)"
    r"|\boptions\s*:)\s*(?P<list>[^\n]*)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=\S)\.(?:\s|$)")
# ", ", "; ", " | ", " or " — or a run of spaces that is none of those, taken whole so that the search never
# restarts inside it (a separator found inside a run would also be found at its start). The plain
# "\s*(?:,…|\s+or\s+)\s*" tried every split of every suffix of a run: cubic, minutes for a description
# of 4,000 spaces.
_CHOICE_SEPARATOR = re.compile(r"(?P<separator>\s*+(?:,\s*(?:or\s+)?|;\s*|\|\s*)\s*|\s++or\s+\s*)|\s++",
                               re.IGNORECASE)
_PARENTHESIS = re.compile(r"\([^)]*\)")
_MAX_CHOICES = 50
_MAX_CHOICE_CHARS = 80


def _without_parentheses(text: str) -> str:
    # After the last ")" no "(" can close, and each would scan to the end (quadratic in "((((…").
    last = text.rfind(")") + 1
    return _PARENTHESIS.sub("", text[:last]) + text[last:]


def split_choices(listed: str) -> list[str]:
    """``listed`` cut at each separator (as ``re.split`` would)."""
    pieces, start = [], 0
    for found in _CHOICE_SEPARATOR.finditer(listed):
        if found["separator"] is not None:
            pieces.append(listed[start:found.start()])
            start = found.end()
    pieces.append(listed[start:])
    return pieces


def parse_choices(description: str) -> tuple[str, ...] | None:
    """The enumeration a description states ("Must be one of: A, B, or C"), or None."""
    match = _CHOICES_INTRO.search(description)
    if not match:
        return None
    listed = _without_parentheses(match["list"])
    listed = _SENTENCE_END.split(listed, maxsplit=1)[0]
    values: list[str] = []
    for raw in split_choices(listed):
        value = raw.strip().strip("'\"`“”‘’").strip().rstrip(".").strip()
        if value.lower().startswith("or "):
            value = value[3:].strip()
        if value and value not in values:
            values.append(value)
    if len(values) < 2 or len(values) > _MAX_CHOICES or any(len(v) > _MAX_CHOICE_CHARS for v in values):
        return None
    return tuple(values)
