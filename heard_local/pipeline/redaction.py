"""Redaction of a conversation before it is stored (and so before any LLM sees it).

Each span :mod:`redaction_detect` finds in a segment is replaced by its tag ([CARD], [PHONE]…) in the
segment's text, and the words it covered by one word holding the tag, timed from the first covered word's
start to the last one's end; those times are what ``redact_audio`` silences. Nothing of the original
text is kept anywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from heard_local.domain import RedactedSpan, RedactKind, Segment
from heard_local.pipeline.protocols import ConversationResult
from heard_local.pipeline.redaction_detect import Found, find_spans

WordDict = dict[str, Any]


@dataclass
class RedactedSegment:
    segment: Segment
    words: list[WordDict] | None
    spans: list[RedactedSpan]


def _word_ranges(text: str, words: list[WordDict]) -> list[tuple[int, int] | None]:
    """Each word's character range in ``text`` (None for one not found: text and words disagree)."""
    ranges: list[tuple[int, int] | None] = []
    cursor = 0
    for word in words:
        token = str(word.get("word", "")).strip()
        at = text.find(token, cursor) if token else -1
        if at < 0:
            ranges.append(None)
            continue
        ranges.append((at, at + len(token)))
        cursor = at + len(token)
    return ranges


def redact_segment(index: int, segment: Segment, words: list[WordDict] | None, kinds: list[RedactKind], *,
                   names: list[str], region: str) -> RedactedSegment:
    found = find_spans(segment.text, kinds, names=names, region=region)
    if not found:
        return RedactedSegment(segment, words, [])
    ranges = _word_ranges(segment.text, words or [])
    covered: list[list[int]] = [[i for i, r in enumerate(ranges) if r and r[0] < f.end and r[1] > f.start]
                                for f in found]
    pieces: list[str] = []
    spans: list[RedactedSpan] = []
    cursor = 0
    for span, members in zip(found, covered, strict=True):
        pieces.append(segment.text[cursor:span.start])
        start = len("".join(pieces))
        pieces.append(span.kind.tag)
        times = [words[i] for i in members] if words else []
        spans.append(RedactedSpan(kind=span.kind, segment_index=index, char_start=start,
                                  char_end=start + len(span.kind.tag),
                                  start=min(float(w["start"]) for w in times) if times else None,
                                  end=max(float(w["end"]) for w in times) if times else None))
        cursor = span.end
    pieces.append(segment.text[cursor:])
    return RedactedSegment(segment.model_copy(update={"text": "".join(pieces), "words": None}),
                           _redacted_words(words, found, covered, spans), spans)


def _redacted_words(words: list[WordDict] | None, found: list[Found], covered: list[list[int]],
                    spans: list[RedactedSpan]) -> list[WordDict] | None:
    if words is None:
        return None
    first_of = {members[0]: (f, s) for f, members, s in zip(found, covered, spans, strict=True) if members}
    hidden = {i for members in covered for i in members}
    result: list[WordDict] = []
    for i, word in enumerate(words):
        if i in first_of:
            f, span = first_of[i]
            result.append({"word": " " + f.kind.tag, "start": span.start, "end": span.end, "probability": None})
        elif i not in hidden:
            result.append(word)
    return result


def redact_conversation(conversation: ConversationResult, kinds: list[RedactKind], *, names: list[str],
                        region: str) -> tuple[ConversationResult, list[RedactedSpan]]:
    """The conversation with every span of ``kinds`` replaced by its tag, and the spans."""
    if not kinds:
        return conversation, []
    words = conversation.words
    done = [redact_segment(i, s, words[i] if words and i < len(words) else None, kinds, names=names, region=region)
            for i, s in enumerate(conversation.segments)]
    redacted = dataclasses.replace(
        conversation, segments=[d.segment for d in done],
        words=[d.words or [] for d in done] if words is not None else None)
    return redacted, [span for d in done for span in d.spans]
