"""Checking that a quote the model cites really occurs in the transcript.

Comparison ignores case, punctuation, typographic quotes and runs of whitespace (a model copying
"I'd like a refund." as "i’d like a refund" still matches), and an ellipsis in the quote stands for
omitted words: every part must occur, in order, in the same segment. A leading ``Customer:`` copied
from the rendered transcript is ignored. A quote that occurs nowhere is dropped: evidence is only ever
text the conversation holds. The evidence kept is the transcript's own wording, not the model's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from heard_local.domain import Evidence, Segment

_ELLIPSIS = re.compile(r"\.\.\.+|…|\[\.\.\.\]|\(\.\.\.\)")
_SEGMENT_PREFIX = re.compile(r"^\s*\[\d+\]\s*")
_MAX_QUOTES_PER_VALUE = 5
_PUNCTUATION = "$€£¥₹%#@&*+-=/\\\"'“”‘’«»()[]{}<>.,;:!?¿¡…"


def _normalize_char(char: str) -> str:
    """What one character contributes to the normalised text: lower-case letters and digits, one
    space for anything else (punctuation and whitespace)."""
    if char.isalnum():
        return char.casefold()
    if unicodedata.category(char).startswith("M"):  # combining accents belong to the letter before
        return char
    return " "


@dataclass(frozen=True)
class _NormalizedText:
    text: str
    origin: tuple[int, ...]  # for each normalised character, the index of the original one

    @classmethod
    def of(cls, original: str) -> _NormalizedText:
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(original):
            for piece in _normalize_char(char):
                if piece == " " and (not chars or chars[-1] == " "):
                    continue  # collapse runs of spaces, none at the start
                chars.append(piece)
                origin.append(index)
        while chars and chars[-1] == " ":
            chars.pop()
            origin.pop()
        return cls("".join(chars), tuple(origin))


def normalize(text: str) -> str:
    return _NormalizedText.of(text).text


class TranscriptIndex:
    """The segments of one conversation, ready to locate quotes in."""

    def __init__(self, segments: list[Segment], speaker_labels: dict[str, str] | None = None):
        self._segments = [s.text for s in segments]
        self._normalized = [_NormalizedText.of(s.text) for s in segments]
        labels = {s.speaker for s in segments} | set((speaker_labels or {}).values())
        self._label_prefixes = sorted((normalize(label) + " " for label in labels if label), key=len, reverse=True)

    def __len__(self) -> int:
        return len(self._segments)

    def _parts(self, quote: str) -> list[tuple[str, str]]:
        """The quote's parts (split at ellipses) as (as written, normalised), empty ones left out."""
        quote = _SEGMENT_PREFIX.sub("", quote)
        parts = [(raw.strip(), normalize(raw)) for raw in _ELLIPSIS.split(quote)]
        parts = [(raw, norm) for raw, norm in parts if norm]
        if parts:
            raw, first = parts[0]
            for prefix in self._label_prefixes:  # "Customer: I want a refund" -> "i want a refund"
                if first.startswith(prefix) and len(first) > len(prefix):
                    parts[0] = (raw.split(":", 1)[-1].strip() if ":" in raw else raw, first[len(prefix):])
                    break
        return parts

    def _match(self, segment_index: int, parts: list[tuple[str, str]]) -> str | None:
        """The segment's own wording for ``parts`` if they all occur in it, in order."""
        normalized = self._normalized[segment_index]
        original = self._segments[segment_index]
        found: list[str] = []
        position = 0
        for raw, part in parts:
            start = _find_words(normalized.text, part, position)
            if start < 0:
                return None
            end = start + len(part)
            position = end
            first, last = normalized.origin[start], normalized.origin[end - 1] + 1
            first, last = _widen(original, first, last, raw)
            found.append(original[first:last])
        return " … ".join(found)

    def locate(self, quote: str, segment_hint: int | None = None) -> Evidence | None:
        """Evidence for ``quote``: the cited segment first, then every other one in order."""
        parts = self._parts(quote or "")
        if not parts:
            return None
        order = list(range(len(self._segments)))
        if segment_hint is not None and 0 <= segment_hint < len(self._segments):
            order.remove(segment_hint)
            order.insert(0, segment_hint)
        for index in order:
            wording = self._match(index, parts)
            if wording is not None:
                return Evidence(quote=wording, segment_index=index)
        return None

    def verify(self, cited: list[tuple[str, int | None]]) -> list[Evidence]:
        """The cited (quote, segment) pairs that really occur, deduplicated, at most five."""
        kept: list[Evidence] = []
        for quote, hint in cited:
            evidence = self.locate(quote, hint)
            if evidence is not None and evidence not in kept:
                kept.append(evidence)
            if len(kept) == _MAX_QUOTES_PER_VALUE:
                break
        return kept


def _find_words(haystack: str, needle: str, start: int) -> int:
    """Index of ``needle`` in ``haystack`` at word boundaries ("refund" does not match "refunded")."""
    position = haystack.find(needle, start)
    while position >= 0:
        before_ok = position == 0 or haystack[position - 1] == " "
        after = position + len(needle)
        after_ok = after == len(haystack) or haystack[after] == " "
        if before_ok and after_ok:
            return position
        position = haystack.find(needle, position + 1)
    return -1


def _edge_marks(text: str) -> tuple[int, int]:
    """How many punctuation marks ``text`` starts and ends with ("$15,000." -> (1, 1))."""
    lead = len(text) - len(text.lstrip(_PUNCTUATION))
    trail = len(text) - len(text.rstrip(_PUNCTUATION)) if text.strip(_PUNCTUATION) else 0
    return lead, trail


def _widen(original: str, first: int, last: int, quoted: str) -> tuple[int, int]:
    """Include the punctuation the model quoted at the edges ("$15,000") when the transcript has it there."""
    lead, trail = _edge_marks(quoted)
    while lead and first > 0 and original[first - 1] in _PUNCTUATION:
        first, lead = first - 1, lead - 1
    while trail and last < len(original) and original[last] in _PUNCTUATION:
        last, trail = last + 1, trail - 1
    return first, last
