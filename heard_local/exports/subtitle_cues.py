"""Subtitle cues cut at word boundaries, from the recogniser's word timings.

A cue holds at most two lines of at most ``LINE_CHARS`` characters and lasts at most
``MAX_CUE_SECONDS``; it starts when its first word starts and ends when its last word ends, so the
text is on screen exactly while it is spoken. Where a cue must end, the cut goes to the best boundary
within what fits: a pause, then a sentence end, then a clause mark (comma), weighed against filling the
cue (a cue of two words followed by a full one reads worse than two balanced cues). A pause of
``PAUSE_CUT_SECONDS`` or more always ends a cue, so no text stays up through a silence.

A word longer than a line gets a line of its own (it cannot be cut), and a single word spoken for longer
than ``MAX_CUE_SECONDS`` is a cue of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from heard_local.domain import SegmentWord

LINE_CHARS = 42  # the usual subtitle line length (Netflix, BBC)
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
PAUSE_CUT_SECONDS = 1.0  # a silence this long always ends a cue
_SENTENCE_END = re.compile(r"[.!?…]['\")\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–-]['\")\]]*$")


@dataclass(frozen=True)
class TimedCue:
    start: float
    end: float
    lines: tuple[str, ...]
    words: tuple[SegmentWord, ...]


def layout(tokens: Sequence[str], prefix: str = "") -> list[str]:
    """``tokens`` in at most two balanced lines (the first starting with ``prefix``), or in as many
    greedy lines as they need when two are not enough. Balanced: of the two-line layouts that fit, the
    one whose longer line is shortest."""
    text = prefix + " ".join(tokens)
    if len(text) <= LINE_CHARS or len(tokens) < 2:
        return [text]
    best: list[str] | None = None
    for cut in range(1, len(tokens)):
        first = prefix + " ".join(tokens[:cut])
        second = " ".join(tokens[cut:])
        if len(first) <= LINE_CHARS and len(second) <= LINE_CHARS and (
                best is None or max(len(first), len(second)) < max(len(best[0]), len(best[1]))):
            best = [first, second]
    return best if best is not None else _greedy_lines(tokens, prefix)


def _greedy_lines(tokens: Sequence[str], prefix: str) -> list[str]:
    lines: list[str] = []
    line = prefix + tokens[0]
    for token in tokens[1:]:
        candidate = f"{line} {token}"
        if len(candidate) > LINE_CHARS:
            lines.append(line)
            line = token
        else:
            line = candidate
    lines.append(line)
    return lines


def fits(tokens: Sequence[str], words: Sequence[SegmentWord], prefix: str = "") -> bool:
    """Whether these words make one cue: two lines at most, and no longer than MAX_CUE_SECONDS."""
    if len(words) == 1:
        return True  # a single word is a cue whatever its length
    if words[-1].end - words[0].start > MAX_CUE_SECONDS:
        return False
    return len(layout(tokens, prefix)) <= MAX_LINES


def _boundary_strength(words: Sequence[SegmentWord], tokens: Sequence[str], after: int) -> float:
    """How good a place the gap after ``words[after]`` is to end a cue (0: none in particular)."""
    strength = 0.0
    if after + 1 < len(words):
        strength += 3.0 * min(1.0, max(0.0, words[after + 1].start - words[after].end) / 0.5)
    if _SENTENCE_END.search(tokens[after]):
        strength += 4.0  # beats a full cue (fill counts 2): a new sentence starts a new cue
    elif _CLAUSE_END.search(tokens[after]):
        strength += 1.5
    return strength


def cut_words(words: Sequence[SegmentWord], prefix: str = "") -> list[TimedCue]:
    """One segment's words as cues (``prefix``, e.g. "Ann: ", starts each cue's first line)."""
    tokens = [w.word.strip() for w in words]
    kept = [(w, t) for w, t in zip(words, tokens, strict=True) if t]
    words = [w for w, _ in kept]
    tokens = [t for _, t in kept]
    cues: list[TimedCue] = []
    start = 0
    while start < len(words):
        end = start + 1  # exclusive: the longest run from ``start`` that fits and crosses no long pause
        while (end < len(words) and words[end].start - words[end - 1].end < PAUSE_CUT_SECONDS
               and fits(tokens[start:end + 1], words[start:end + 1], prefix)):
            end += 1
        if end < len(words) and words[end].start - words[end - 1].end < PAUSE_CUT_SECONDS:
            end = _best_cut(words, tokens, start, end)
        cues.append(_cue(words[start:end], tokens[start:end], prefix))
        start = end
    return cues


def _best_cut(words: Sequence[SegmentWord], tokens: Sequence[str], start: int, limit: int) -> int:
    """Where to end a cue that cannot take words[limit]: the boundary in start+1..limit scoring best on
    its strength plus how full it leaves the cue."""
    full = len(" ".join(tokens[start:limit]))
    best, best_score = limit, -1.0
    for end in range(start + 1, limit + 1):
        fill = len(" ".join(tokens[start:end])) / full
        score = _boundary_strength(words, tokens, end - 1) + 2.0 * fill
        if score > best_score:
            best, best_score = end, score
    return best


def _cue(words: Sequence[SegmentWord], tokens: Sequence[str], prefix: str) -> TimedCue:
    start = words[0].start
    end = max(max(w.end for w in words), start + 0.001)
    return TimedCue(start=start, end=end, lines=tuple(layout(tokens, prefix)), words=tuple(words))
