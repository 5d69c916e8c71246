"""Corrections of a transcript's segments, as pure functions: new text for a line, another speaker,
two lines merged, a line split at a word. Each returns the whole new list of segments.

Word timings follow a corrected text: words left as they were keep their times, a replaced run of words
shares out the time the old run took, and a new word typed where there was none takes the gap it
fills. Corrected words carry no recogniser probability (None), so a reader can tell them apart.
"""

from __future__ import annotations

import difflib
import re

from heard_local.domain import Segment, SegmentWord
from heard_local.domain.transcription import MAX_SEGMENT_TEXT
from heard_local.errors import NotFoundError, ValidationError

SPEAKER_ID = re.compile(r"^SPEAKER_\d{2,}$")


def _segment(segments: list[Segment], index: int) -> Segment:
    if not 0 <= index < len(segments):
        raise NotFoundError(f"Segment {index} not found (this transcript has {len(segments)} segments)",
                            field="index")
    return segments[index]


def retimed_words(words: list[SegmentWord], text: str) -> list[SegmentWord]:
    """Words for ``text`` timed from the words it replaces (see the module doc)."""
    old = [w.word.strip() for w in words]
    new = text.split()
    result: list[SegmentWord] = []
    matcher = difflib.SequenceMatcher(a=[t.lower() for t in old], b=[t.lower() for t in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            result += [w.model_copy(update={"word": " " + new[j1 + k]}) for k, w in enumerate(words[i1:i2])]
        elif op in ("replace", "insert"):
            if i2 > i1:
                start, end = words[i1].start, max(w.end for w in words[i1:i2])
            else:  # inserted between words[i1 - 1] and words[i1]
                start = words[i1 - 1].end if i1 > 0 else words[0].start
                end = words[i1].start if i1 < len(words) else words[-1].end
                end = max(start, end)
            step = (end - start) / (j2 - j1)
            result += [SegmentWord(word=" " + new[j1 + k], start=round(start + k * step, 3),
                                   end=round(start + (k + 1) * step, 3)) for k in range(j2 - j1)]
    return result


def edit_segment(segments: list[Segment], index: int, *, text: str | None = None,
                 speaker: str | None = None) -> list[Segment]:
    """Segment ``index`` with new text and/or another speaker (``SPEAKER_NN``)."""
    current = _segment(segments, index)
    if text is None and speaker is None:
        raise ValidationError("Give text, speaker or both", field="text")
    update: dict[str, object] = {}
    if text is not None:
        cleaned = " ".join(text.split())
        if not cleaned:
            raise ValidationError("text must not be empty (merge the segment into its neighbour instead)",
                                  field="text")
        if len(cleaned) > MAX_SEGMENT_TEXT:
            raise ValidationError(f"text must be at most {MAX_SEGMENT_TEXT} characters", field="text")
        update["text"] = cleaned
        if current.words:
            update["words"] = retimed_words(current.words, cleaned)
    if speaker is not None:
        if not SPEAKER_ID.match(speaker):
            raise ValidationError("speaker must be a speaker id like SPEAKER_01", field="speaker")
        update["speaker"] = speaker
    return [*segments[:index], current.model_copy(update=update), *segments[index + 1:]]


def merge_segments(segments: list[Segment], index: int) -> list[Segment]:
    """Segment ``index`` and the one after it as one segment (the first one's speaker)."""
    first = _segment(segments, index)
    if index + 1 >= len(segments):
        raise ValidationError(f"Segment {index} is the last one; there is nothing after it to merge with",
                              field="index")
    second = segments[index + 1]
    starts = [t for t in (first.start, second.start) if t is not None]
    ends = [t for t in (first.end, second.end) if t is not None]
    words = None
    if first.words is not None or second.words is not None:
        words = sorted([*(first.words or []), *(second.words or [])], key=lambda w: (w.start, w.end))
    merged = Segment(text=f"{first.text} {second.text}".strip(), speaker=first.speaker,
                     start=min(starts) if starts else None, end=max(ends) if ends else None, words=words)
    return [*segments[:index], merged, *segments[index + 2:]]


def split_segment(segments: list[Segment], index: int, word_index: int) -> list[Segment]:
    """Segment ``index`` as two, the second starting at word ``word_index`` (0-based; of its timed words,
    or of its text's words when it has no timings), both with its speaker."""
    current = _segment(segments, index)
    tokens = [w.word.strip() for w in current.words] if current.words else current.text.split()
    if not 1 <= word_index < len(tokens):
        raise ValidationError(f"word_index must be between 1 and {len(tokens) - 1} (the segment has "
                              f"{len(tokens)} words)", field="word_index")
    if current.words:
        head, tail = current.words[:word_index], current.words[word_index:]
        first = current.model_copy(update={"text": "".join(w.word for w in head).strip(), "words": head,
                                           "end": max(w.end for w in head)})
        second = current.model_copy(update={"text": "".join(w.word for w in tail).strip(), "words": tail,
                                            "start": tail[0].start})
    else:
        at = None
        if current.start is not None and current.end is not None:  # time shared out by length
            head_chars = len(" ".join(tokens[:word_index]))
            at = round(current.start + (current.end - current.start) * head_chars / len(" ".join(tokens)), 3)
        first = current.model_copy(update={"text": " ".join(tokens[:word_index]),
                                           "end": at if at is not None else current.end})
        second = current.model_copy(update={"text": " ".join(tokens[word_index:]),
                                            "start": at if at is not None else current.start})
    return [*segments[:index], first, second, *segments[index + 1:]]
