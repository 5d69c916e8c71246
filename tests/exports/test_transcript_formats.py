"""Transcript exports against their specs: SRT (SubRip), WebVTT (W3C), speaker-labelled text, JSON."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime

import pytest

from heard_local.domain import (
    Conversation,
    Details,
    Segment,
    SpeakerInfo,
    Transcription,
    TranscriptionStatus,
)
from heard_local.engine import Engine
from heard_local.errors import ConflictError, ValidationError
from heard_local.exports.transcript_formats import (
    LINE_CHARS,
    cues,
    export_filename,
    render,
    require_transcript,
    to_json,
    to_srt,
    to_txt,
    to_vtt,
)
from heard_local.pipeline.transcript_text import parse_transcript

SRT_TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2}):(\d{2}):(\d{2}),(\d{3})$")
VTT_TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")
VOICE = re.compile(r"^<v ([^>]+)>(.*)</v>$", re.DOTALL)


def seconds(groups: tuple[str, ...]) -> tuple[float, float]:
    h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in groups)
    return h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000


def transcription(segments: list[Segment], speakers: dict[str, SpeakerInfo] | None = None,
                  status: TranscriptionStatus = TranscriptionStatus.COMPLETED,
                  name: str | None = "Call") -> Transcription:
    details = None
    if status is TranscriptionStatus.COMPLETED:
        details = Details(language="en", num_speakers=len({s.speaker for s in segments}),
                          conversation=Conversation(segments=segments), speakers=speakers or {})
    return Transcription(transcription_id="4f1c2d3e-0000-4000-8000-000000000001", status=status,
                         configuration_id="conf", name=name, duration=10.0, details=details,
                         created_at=datetime(2024, 3, 1, tzinfo=UTC))


CALL = transcription(
    [
        Segment(text="Hello & welcome <to> the bank.", speaker="SPEAKER_00", start=1.5, end=4.25),
        Segment(text="My card --> lost, \"really\".", speaker="SPEAKER_01", start=4.25, end=3725.0004),
        Segment(text="Mystery voice.", speaker="SPEAKER_02", start=3725.5, end=3726.0),
    ],
    speakers={"SPEAKER_00": SpeakerInfo(role="Agent", name="Sam & Co <QA>"),
              "SPEAKER_01": SpeakerInfo(role="Customer")},
)


def parse_srt(text: str) -> list[tuple[int, float, float, list[str]]]:
    """A strict SubRip reader: blocks separated by exactly one blank line."""
    assert text.endswith("\n") and not text.endswith("\n\n\n")
    blocks = text.rstrip("\n").split("\n\n")
    parsed = []
    for block in blocks:
        lines = block.split("\n")
        assert len(lines) >= 3, block
        timing = SRT_TIMING.match(lines[1])
        assert timing, lines[1]
        start, end = seconds(timing.groups())
        assert all(line.strip() for line in lines[2:]), "a blank line inside a cue ends it early"
        parsed.append((int(lines[0]), start, end, lines[2:]))
    return parsed


def parse_vtt(text: str) -> list[tuple[float, float, str, str]]:
    lines = text.split("\n")
    assert lines[0] == "WEBVTT" and lines[1] == ""
    parsed = []
    for block in text.rstrip("\n").split("\n\n")[1:]:
        timing_line, *payload = block.split("\n")
        timing = VTT_TIMING.match(timing_line)
        assert timing, timing_line
        start, end = seconds(timing.groups())
        voice = VOICE.match("\n".join(payload))
        assert voice, payload
        parsed.append((start, end, voice.group(1), voice.group(2)))
    return parsed


def test_srt_cues_are_numbered_timed_and_blank_line_separated() -> None:
    parsed = parse_srt(to_srt(CALL))
    assert [index for index, *_ in parsed] == list(range(1, len(parsed) + 1))
    first = parsed[0]
    assert (first[1], first[2]) == (1.5, 4.25)
    assert first[3] == ["Sam & Co <QA>: Hello & welcome <to> the", "bank."]
    # Hours are written, milliseconds rounded: 3725.0004 s = 01:02:05,000.
    assert "00:00:04,250 --> 01:02:05,000" in to_srt(CALL)
    for _, start, end, _lines in parsed:
        assert end > start


def test_srt_keeps_arrows_out_of_cue_text() -> None:
    lines = [line for *_, text in parse_srt(to_srt(CALL)) for line in text]
    assert not any("-->" in line for line in lines)
    assert "Customer: My card -> lost, \"really\"." in lines


def test_speaker_labels_prefer_name_then_role_then_id() -> None:
    labels = [speaker for _, _, speaker, _ in parse_vtt(to_vtt(CALL))]
    assert labels == ["Sam &amp; Co &lt;QA&gt;", "Customer", "SPEAKER_02"]
    assert to_txt(CALL).splitlines() == [
        "[00:01] Sam & Co <QA>: Hello & welcome <to> the bank.",
        "[00:04] Customer: My card --> lost, \"really\".",
        "[01:02:05] SPEAKER_02: Mystery voice.",
    ]


def test_vtt_escapes_markup_and_uses_dot_milliseconds() -> None:
    text = to_vtt(CALL)
    parsed = parse_vtt(text)
    assert parsed[0][:2] == (1.5, 4.25)
    assert parsed[0][3] == "Hello &amp; welcome &lt;to&gt; the bank."
    assert parsed[1][3] == "My card --&gt; lost, \"really\"."
    assert "-->" not in "".join(p[3] for p in parsed)
    assert "," not in text.split("\n")[2]  # 00:00:01.500 --> 00:00:04.250


def test_webvtt_round_trips_through_heard_locals_own_parser() -> None:
    """What heard-local writes, heard-local reads back: same turns, speakers and times."""
    original = [
        Segment(text="Good morning, how can I help you today with your account and your cards?",
                speaker="SPEAKER_00", start=0.0, end=6.0),
        Segment(text="Hi.", speaker="SPEAKER_01", start=6.0, end=7.0),
    ]
    call = transcription(original, speakers={"SPEAKER_00": SpeakerInfo(role="Agent"),
                                             "SPEAKER_01": SpeakerInfo(role="Customer")})
    parsed = parse_transcript(to_vtt(call, split=False))
    assert [(s.text, s.start, s.end) for s in parsed.segments] == [(s.text, s.start, s.end) for s in original]
    assert parsed.roles == {"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"}


def test_long_turns_become_readable_cues_covering_the_turn() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    call = transcription([Segment(text=words, speaker="SPEAKER_00", start=10.0, end=40.0)])
    pieces = cues(call)
    assert len(pieces) > 1
    assert pieces[0].start == 10.0 and pieces[-1].end == 40.0
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(pieces))
    assert " ".join(c.text for c in pieces) == words
    for _, _, _, lines in parse_srt(to_srt(call)):
        assert len(lines) <= 2 and all(len(line) <= LINE_CHARS for line in lines)
    assert len(parse_srt(to_srt(call, split=False))) == 1


def test_cues_close_at_sentence_ends_and_keep_overlong_words_whole() -> None:
    text = ("This first sentence is long enough to reach line two. Second sentence here. "
            "https://example.com/a/very/long/link/that/cannot/be/broken/anywhere ok")
    call = transcription([Segment(text=text, speaker="SPEAKER_00", start=0.0, end=30.0)])
    pieces = cues(call)
    assert pieces[0].lines == ("This first sentence is long enough to", "reach line two.")
    assert any("https://example.com/a/very/long/link/that/cannot/be/broken/anywhere" in c.lines for c in pieces)
    assert " ".join(c.text for c in pieces) == text


def test_transcripts_without_times_get_increasing_times() -> None:
    call = transcription([Segment(text="Hello there.", speaker="SPEAKER_00"),
                          Segment(text="Hi, how are you doing today my friend?", speaker="SPEAKER_01")])
    parsed = parse_srt(to_srt(call))
    assert parsed[0][1] == 0.0
    assert parsed[0][2] <= parsed[1][1] < parsed[1][2]
    assert to_txt(call).splitlines() == ["SPEAKER_00: Hello there.",
                                         "SPEAKER_01: Hi, how are you doing today my friend?"]


def test_json_is_the_api_shape() -> None:
    assert json.loads(to_json(CALL)) == CALL.to_api()
    assert json.loads(render(CALL, "json"))["details"]["conversation"]["segments"][0]["start"] == 1.5


def test_render_refuses_unknown_formats_and_unfinished_transcriptions() -> None:
    with pytest.raises(ValidationError) as bad:
        render(CALL, "docx")
    assert bad.value.details["field"] == "format"
    pending = transcription([], status=TranscriptionStatus.PENDING)
    with pytest.raises(ConflictError):
        require_transcript(pending, "srt")
    require_transcript(pending, "json")
    assert json.loads(render(pending, "json"))["status"] == "PENDING"
    assert render(pending, "vtt") == "WEBVTT\n" and render(pending, "txt") == ""


@pytest.mark.parametrize(("name", "expected"), [
    ("Call with Zoë: refund/“urgent”.mp3", "Call with Zoë_ refund_“urgent”.srt"),
    ("tab\there|pipe*star?", "tab here_pipe_star.srt"),
    ("../../etc/passwd", "etc_passwd.srt"),
    (None, "4f1c2d3e-0000-4000-8000-000000000001.srt"),
    ("...", "4f1c2d3e-0000-4000-8000-000000000001.srt"),
])
def test_export_filenames_are_safe(name: str | None, expected: str) -> None:
    assert export_filename(transcription([], name=name), "srt") == expected


def test_an_ingested_transcript_exports_with_its_roles(engine: Engine) -> None:
    text = "[00:00:05] Agent: Hi <there>\n[00:00:09] Customer: Hello"
    submission = engine.ingest.transcript({"transcript_text": text, "metadata": {"name": "Ingested"}})
    engine.jobs.wait(submission.job.job_id, timeout=60)
    stored = engine.transcriptions.get(submission.job.transcription_id)
    assert parse_vtt(render(stored, "vtt"))[0] == (5.0, 9.0, "Agent", "Hi &lt;there&gt;")
    engine.transcriptions.rename_speaker(stored.transcription_id, "SPEAKER_01", "Zoë")
    renamed = engine.transcriptions.get(stored.transcription_id)
    assert parse_srt(render(renamed, "srt"))[1][3] == ["Zoë: Hello"]
