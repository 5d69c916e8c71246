"""One line of a text transcript split into timestamp, speaker label and text, in linear time.

The grammar is exactly what this regular expression matched (tests/core/test_transcript_linear.py
checks the two agree on random lines)::

    ^\\s*
    (?:[\\[(](?P<ts_bracket>TS)[\\])]\\s*[-–]?\\s*|(?P<ts_bare>TS)\\s+[-–]?\\s*)?
    (?:(?P<label>[^\\s:\\[\\]()<>][^:\\[\\]()<>\\n]{0,39}?)\\s*
       (?:[\\[(](?P<ts_after>TS)[\\])])?\\s*:(?:\\s+|$))?
    (?P<text>.*)$

A backtracking regex engine took quadratic time on it: for each of the 40 label lengths it tried every
way of sharing a run of whitespace between the adjacent ``\\s*``, so "a" + 8,000 spaces + "b" took
seconds, holding the GIL (and with it the API, the UI and the watcher) the whole time. Here each
step is a small anchored match that cannot backtrack far, and a run of whitespace is measured once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TIMESTAMP = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
MAX_LABEL_CHARS = 40

_WHITESPACE = re.compile(r"\s*")
_DASH = re.compile(r"\s*[-–]?\s*")
_STAMP_IN_BRACKETS = re.compile(rf"[\[(](?P<ts>{TIMESTAMP})[\])]")
_BARE_STAMP = re.compile(rf"(?P<ts>{TIMESTAMP})\s")
_LABEL_FIRST = re.compile(r"[^\s:\[\]()<>]")
_LABEL_REST = re.compile(rf"[^:\[\]()<>\n]{{0,{MAX_LABEL_CHARS - 1}}}")
_COLON = re.compile(r":(?:\s+|$)")
_STAMP_THEN_COLON = re.compile(rf"[\[(](?P<ts>{TIMESTAMP})[\])]\s*:(?:\s+|$)")


@dataclass(frozen=True)
class LineParts:
    stamp_before: str | None  # "[00:01:02] Agent: …" or "00:01:02 Agent: …"
    label: str | None  # a candidate speaker label ("Agent"); the caller decides whether it is one
    label_start: int  # where the label starts in the line; -1 without one
    stamp_after: str | None  # "Agent (00:01:09): …"
    text: str


def split_line(line: str) -> LineParts:
    """The parts of one line (without a newline in it)."""
    pos = _WHITESPACE.match(line).end()  # type: ignore[union-attr]  (matches anywhere)
    stamp_before = None
    stamp = _STAMP_IN_BRACKETS.match(line, pos) or _BARE_STAMP.match(line, pos)
    if stamp is not None:
        stamp_before = stamp["ts"]
        pos = _DASH.match(line, stamp.end()).end()  # type: ignore[union-attr]
    labelled = _label(line, pos)
    if labelled is None:
        return LineParts(stamp_before, None, -1, None, line[pos:])
    label_end, stamp_after, text_start = labelled
    return LineParts(stamp_before, line[pos:label_end], pos, stamp_after, line[text_start:])


def _label(line: str, start: int) -> tuple[int, str | None, int] | None:
    """(label end, timestamp after the label, text start) for the shortest label at ``start`` that is
    followed by ``[ws] [(TS)] [ws] ":" (ws+ | end)``; None when there is none.

    The label's characters exclude ":[(", so what follows a label ending inside the longest possible
    label can only start one of those after it: every label that can work ends in the whitespace
    trailing that longest label, and they all see the same first non-space after it. The shortest of
    them is the longest label without its trailing whitespace."""
    if not _LABEL_FIRST.match(line, start):
        return None
    longest = _LABEL_REST.match(line, start + 1).end()  # type: ignore[union-attr]
    after = _WHITESPACE.match(line, longest).end()  # type: ignore[union-attr]
    shortest = start + len(line[start:longest].rstrip())
    colon = _COLON.match(line, after)
    if colon is not None:
        return shortest, None, colon.end()
    stamped = _STAMP_THEN_COLON.match(line, after)
    if stamped is not None:
        return shortest, stamped["ts"], stamped.end()
    return None
