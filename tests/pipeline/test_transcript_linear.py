"""The transcript parser takes linear time on anything a client can send (issue 15, item 1).

Its line grammar used to be a backtracking regular expression that took quadratic time on runs of
whitespace ("a" + 4,000 spaces + "b": 0.6 s; 2,000,000 characters: hours, holding the GIL). The
replacement must give exactly the same answers: the old expressions are kept here as the oracle and
compared on random short lines, where they are still fast.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heard_local.domain.metadata import MAX_TRANSCRIPT_CHARS
from heard_local.pipeline.transcript_lines import split_line
from heard_local.pipeline.transcript_text import (
    ParsedTranscript,
    _is_subtitles,
    _strip_tags,
    _voice_tag,
    parse_transcript,
)

# The expressions as they were before issue 15.
_TS = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
OLD_LINE = re.compile(
    rf"""^\s*
    (?:[\[(](?P<ts_bracket>{_TS})[\])]\s*[-–]?\s*|(?P<ts_bare>{_TS})\s+[-–]?\s*)?
    (?:(?P<label>[^\s:\[\]()<>][^:\[\]()<>\n]{{0,39}}?)\s*
       (?:[\[(](?P<ts_after>{_TS})[\])])?\s*:(?:\s+|$))?
    (?P<text>.*)$""",
    re.VERBOSE,
)
OLD_VOICE_TAG = re.compile(r"^<v(?:\.[^ >]+)?\s+(?P<name>[^>]+)>(?P<text>.*?)(?:</v>)?$")
OLD_TAGS = re.compile(r"</?[^>]+>")


def old_is_subtitles(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("WEBVTT") or bool(re.search(rf"^\s*{_TS}\s*-->\s*{_TS}", text, re.MULTILINE))


# Characters the grammar cares about, several kinds of whitespace among them.
LINE_ALPHABET = st.sampled_from(list("aA1 0:9[]()<>-–.,\t\x0b\x0c\x1c\x85\u2028\u3000v/x"))
TEXT_ALPHABET = st.sampled_from(list("0:1 \n\t-->.,<v>aWEBVTT\u2028"))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(LINE_ALPHABET, max_size=60))
def test_the_line_scanner_agrees_with_the_old_expression(line: str) -> None:
    old = OLD_LINE.match(line)
    assert old is not None
    parts = split_line(line)
    assert parts.stamp_before == (old["ts_bracket"] or old["ts_bare"])
    assert parts.label == old["label"]
    assert parts.label_start == (old.start("label") if old["label"] else -1)
    assert parts.stamp_after == old["ts_after"]
    assert parts.text == old["text"]


@settings(max_examples=800, deadline=None)
@given(st.text(TEXT_ALPHABET, max_size=80))
def test_subtitle_detection_agrees_with_the_old_expression(text: str) -> None:
    assert _is_subtitles(text) == old_is_subtitles(text)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from(list("<>/v. ab\t")), max_size=40))
def test_tags_and_voices_agree_with_the_old_expressions(line: str) -> None:
    assert _strip_tags(line) == OLD_TAGS.sub("", line)
    old, new = OLD_VOICE_TAG.match(line), _voice_tag(line)
    assert (old is None) == (new is None)
    if old is not None and new is not None:
        assert (old["name"], old["text"]) == (new["name"], new["text"])


N = MAX_TRANSCRIPT_CHARS  # the longest transcript the API accepts
PATHOLOGICAL = {
    "spaces between two words": "a" + " " * (N - 2) + "b",
    "blank lines then a word": "\n" * (N - 1) + "x",
    "tabs": "a" + "\t" * (N - 2) + "b",
    "label, spaces, no colon": "Agent" + " " * (N - 14) + "(0:00) x",
    "a timing, then blank lines": "0:00" + "\n" * (N - 10) + "x",
    "subtitle line of <": "WEBVTT\n\n00:00.000 --> 00:01.000\n" + "<" * (N - 40),
    "subtitle voice tag never closed": "WEBVTT\n\n00:00.000 --> 00:01.000\n<v" + " " * (N // 2) + "x" * (N // 2 - 40),
}


def _timed_parse(text: str) -> tuple[float, ParsedTranscript]:
    started = time.process_time()
    parsed = parse_transcript(text)
    return time.process_time() - started, parsed


def _cpu_seconds(text: str) -> float:
    return _timed_parse(text)[0]


def test_the_two_inputs_timed_in_the_issue_parse_in_under_50_ms() -> None:
    # Before: 2.3 s and 1.25 s (the time grew with the square of the length).
    assert _cpu_seconds("a" + " " * 8000 + "b") < 0.05
    assert _cpu_seconds("\n" * 8000 + "x") < 0.05


@pytest.mark.parametrize("shape", PATHOLOGICAL)
def test_the_longest_pathological_transcripts_parse_in_seconds(shape: str) -> None:
    # Linear: each takes well under a second of CPU here; before, any of them took hours.
    assert _cpu_seconds(PATHOLOGICAL[shape]) < 5.0


def test_many_timestamped_turns_parse_in_linear_time() -> None:
    # Each turn's end is the next turn's start; it was found by copying the list of the turns after it,
    # once per turn: 22 s of CPU for these 100,000 turns (2 s now).
    seconds, parsed = _timed_parse("0:00 a\n" * 100_000)
    assert seconds < 10.0
    assert len(parsed.segments) == 100_000 and parsed.segments[0].end == 0.0


def test_a_long_turn_continued_over_many_lines_is_joined_once() -> None:
    # ``text += line`` per line copied the turn each time: ~20 s of CPU for these 180,000 lines (the most
    # that fit in a transcript), under 2 s now.
    seconds, parsed = _timed_parse("Agent: hi\n" + "more words\n" * 180_000)
    assert seconds < 6.0
    assert parsed.segments[0].text.count("more words") == 180_000


@st.composite
def whitespace_heavy(draw: st.DrawFn) -> str:
    """Lines that start like a timestamp, a label or a tag and go on with a long run of whitespace."""
    starts = st.sampled_from(["a", "Agent", "0:00", "[0:00]", "Agent (0:00)", "<v", "<", "0:00.000 --> 0:01.000"])
    runs = st.tuples(st.sampled_from([" ", "\t", "\n", " \t", "\n "]), st.integers(2_000, 20_000))
    ends = st.sampled_from(["", "b", "x:", "(", "<", ">", "0:00", "-->"])
    pieces = draw(st.lists(st.tuples(starts, runs, ends), min_size=1, max_size=4))
    header = draw(st.sampled_from(["", "WEBVTT\n\n00:00.000 --> 00:01.000\n"]))
    return header + "".join(start + run * count + end for start, (run, count), end in pieces)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(whitespace_heavy())
def test_random_whitespace_heavy_transcripts_parse_quickly(text: str) -> None:
    # At most ~200,000 characters; linear parsing takes milliseconds. (Before: up to minutes.)
    assert _cpu_seconds(text) < 2.0
