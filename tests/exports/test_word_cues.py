"""Subtitle cues cut at word boundaries, checked against the word timings of real transcripts made by the
real bundled Whisper model (tests/support/real_calls.py), and GET ...?words=true."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.domain import Segment, SegmentWord, Transcription
from heard_local.engine import Engine
from heard_local.exports.subtitle_cues import LINE_CHARS, MAX_CUE_SECONDS, PAUSE_CUT_SECONDS, cut_words
from heard_local.exports.transcript_formats import cues, to_srt, to_vtt
from tests.support.real_calls import SeededCalls, real_settings

TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})[.,](\d{3}) --> (\d{2}):(\d{2}):(\d{2})[.,](\d{3})$")


@pytest.fixture
def real_engine(real_calls: SeededCalls, tmp_path: Path) -> Iterator[Engine]:
    engine = Engine.open(real_settings(real_calls.copy_to(tmp_path / "data")))
    try:
        yield engine
    finally:
        engine.close()


def clock_seconds(text: str) -> tuple[float, float]:
    match = TIMING.match(text)
    assert match, text
    h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
    return h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000


def timed_segments(transcription: Transcription) -> list[Segment]:
    assert transcription.details is not None
    segments = transcription.details.conversation.segments
    assert segments and all(s.words for s in segments), "the real model gives every segment word timings"
    return segments


@pytest.mark.parametrize("name", ["phone_call", "monologue", "stereo_call"])
def test_cues_of_a_real_transcript_follow_its_words(real_engine: Engine, real_calls: SeededCalls,
                                                    name: str) -> None:
    transcription = real_engine.transcriptions.get(real_calls.ids[name])
    segments = timed_segments(transcription)
    pieces = cues(transcription)
    assert len(pieces) >= len(segments)
    # Every word is in exactly one cue, in order, and each cue starts at its first word's start and ends at
    # its last word's end.
    words = [w for s in segments for w in s.words or [] if w.word.strip()]
    said = [w.word.strip() for w in words]
    shown = [token for cue in pieces for line in cue.lines for token in line.split()]
    assert shown == said
    position = 0
    for cue in pieces:
        count = len(" ".join(cue.lines).split())
        own = words[position:position + count]
        position += count
        assert cue.start == own[0].start
        assert cue.end == pytest.approx(max(w.end for w in own), abs=0.0011)
        assert len(cue.lines) <= 2
        if count > 1:  # a single word is a cue whatever it takes
            assert all(len(line) <= LINE_CHARS for line in cue.lines), cue.lines
            assert cue.end - cue.start <= MAX_CUE_SECONDS
            gaps = [b.start - a.end for a, b in itertools.pairwise(own)]
            assert max(gaps, default=0.0) < PAUSE_CUT_SECONDS  # no text on screen through a silence


def test_a_long_real_monologue_is_cut_at_sentence_ends_more_than_by_chance(real_engine: Engine,
                                                                            real_calls: SeededCalls) -> None:
    transcription = real_engine.transcriptions.get(real_calls.ids["monologue"])
    segments = timed_segments(transcription)
    pieces = cues(transcription)
    assert len(pieces) > len(segments)  # long turns needed cutting
    # Of the cuts made inside a segment, those at a sentence end, a comma or a pause of 0.3 s or more
    # outnumber the share of such boundaries among all the segment's word gaps.
    words = [w for s in segments for w in s.words or []]
    ends = {w.end for s in segments for w in (s.words or [])[-1:]}
    next_start = {a.end: b.start for a, b in itertools.pairwise(words)}
    inner = [cue for cue in pieces[:-1] if cue.end not in ends]
    good = [cue for cue in inner if re.search(r"[.!?,;]$", cue.lines[-1])
            or next_start.get(cue.end, cue.end) - cue.end >= 0.3]
    boundaries = [(a, b) for s in segments for a, b in zip(s.words or [], (s.words or [])[1:], strict=False)]
    good_share = sum(1 for a, b in boundaries if re.search(r"[.!?,;]$", a.word.strip())
                     or b.start - a.end >= 0.3) / max(1, len(boundaries))
    assert inner, "the monologue has turns longer than one cue"
    assert len(good) / len(inner) > good_share


def test_srt_and_vtt_name_the_renamed_speaker_and_keep_the_word_times(real_engine: Engine,
                                                                      real_calls: SeededCalls) -> None:
    tid = real_calls.ids["stereo_call"]
    first = timed_segments(real_engine.transcriptions.get(tid))[0]
    transcription = real_engine.transcriptions.rename_speaker(tid, first.speaker, "Ann Lee")
    srt_blocks = to_srt(transcription).rstrip("\n").split("\n\n")
    vtt_blocks = to_vtt(transcription).rstrip("\n").split("\n\n")[1:]
    pieces = cues(transcription)
    assert len(srt_blocks) == len(vtt_blocks) == len(pieces)
    for block, cue in zip(srt_blocks, pieces, strict=True):
        start, end = clock_seconds(block.split("\n")[1])
        assert start == pytest.approx(cue.start, abs=0.0006) and end == pytest.approx(cue.end, abs=0.0006)
        assert block.split("\n")[2].startswith(f"{cue.speaker}: ")
        assert all(len(line) <= LINE_CHARS for line in block.split("\n")[2:]) or len(cue.text.split()) == 1
    first_vtt = vtt_blocks[0].split("\n")
    assert clock_seconds(first_vtt[0])[0] == pytest.approx(first.start or 0.0, abs=0.0006)
    assert first_vtt[1].startswith("<v Ann Lee>") and vtt_blocks[0].endswith("</v>")
    other = next(s.speaker for s in timed_segments(transcription) if s.speaker != first.speaker)
    label = transcription.speaker_label(other)
    assert label != "Ann Lee" and any(b.split("\n")[1].startswith(f"<v {label}>") for b in vtt_blocks)


def test_words_are_in_the_api_only_when_asked_for(real_engine: Engine, real_calls: SeededCalls) -> None:
    tid = real_calls.ids["phone_call"]
    segments = timed_segments(real_engine.transcriptions.get(tid))
    key = real_engine.keys.create("words")[1]
    with TestClient(create_app(real_engine)) as client:
        plain = client.get(f"/api/v1/transcriptions/{tid}", headers={"X-API-Key": key}).json()
        timed = client.get(f"/api/v1/transcriptions/{tid}", params={"words": "true"},
                           headers={"X-API-Key": key}).json()
        bad = client.get(f"/api/v1/transcriptions/{tid}", params={"words": "maybe"}, headers={"X-API-Key": key})
    assert all("words" not in s for s in plain["details"]["conversation"]["segments"])
    assert set(plain["details"]["conversation"]["segments"][0]) == {"text", "speaker", "start", "end"}
    got = timed["details"]["conversation"]["segments"]
    assert [s["text"] for s in got] == [s.text for s in segments]
    for segment in got:
        assert segment["words"], segment
        assert set(segment["words"][0]) == {"word", "start", "end", "probability"}
        assert "".join(w["word"] for w in segment["words"]).strip() == segment["text"]
        assert all(segment["start"] - 0.001 <= w["start"] <= w["end"] <= segment["end"] + 0.001
                   for w in segment["words"])
        assert all(0.0 <= w["probability"] <= 1.0 for w in segment["words"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


def word(text: str, start: float, end: float) -> SegmentWord:
    return SegmentWord(word=" " + text, start=start, end=end, probability=0.9)


def test_a_cue_ends_at_the_sentence_end_not_where_the_line_fills() -> None:
    sentence = ("Thanks for waiting. I checked your account and the payment went through this morning, "
                "so you will see it soon")
    texts = sentence.split(" ")
    words = [word(t, i * 0.3, i * 0.3 + 0.25) for i, t in enumerate(texts)]
    pieces = cut_words(words)
    assert pieces[0].lines == ("Thanks for waiting.",)
    assert all(len(p.lines) <= 2 and all(len(line) <= LINE_CHARS for line in p.lines) for p in pieces)


def test_a_pause_ends_a_cue_and_seven_seconds_is_the_longest() -> None:
    slow = [word(f"w{i}", i * 1.2, i * 1.2 + 0.9) for i in range(12)]  # 0.3 s gaps, 1.2 s a word
    pieces = cut_words(slow)
    assert all(p.end - p.start <= MAX_CUE_SECONDS for p in pieces) and len(pieces) >= 2
    paused = [word("Yes.", 0.0, 0.4), word("Okay", 2.0, 2.3)]
    assert [p.lines for p in cut_words(paused)] == [("Yes.",), ("Okay",)]
    long_word = [word("x" * 50, 0.0, 0.5), word("short", 0.6, 0.9)]
    assert [len(p.lines) for p in cut_words(long_word, "Ann: ")] == [2]  # an unbreakable word: own line
