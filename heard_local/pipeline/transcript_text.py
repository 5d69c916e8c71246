"""Parsing a text transcript into speaker-labelled segments.

Accepted shapes (mixed freely, one turn per line):
    Agent: Hi, how can I help you today?
    [00:01:02] Customer: I have a billing question…
    00:01:05 Agent: Sure.            (bare timestamps, h:mm:ss or mm:ss, optional .ms)
    Agent (00:01:09): Anything else? (timestamp after the label)
    plain text with no labels        (one speaker, one segment per paragraph)
and WebVTT / SRT subtitles (``<v Name>`` voice tags or ``Name:`` prefixes give the speaker).

Labels are kept as roles ("Agent"); speakers are numbered SPEAKER_00, SPEAKER_01… in order of first
appearance, labels compared case-insensitively. A line without a label continues the previous turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from heard_local.domain import Segment, speaker_id
from heard_local.pipeline.transcript_lines import TIMESTAMP, split_line

_TS = TIMESTAMP
_CUE_TIMING = re.compile(rf"^\s*(?P<start>{_TS})\s*-->\s*(?P<end>{_TS})")
# Anywhere in a text: a line starting with a cue timing. (Not "^\s*" with MULTILINE: that re-scans a run
# of blank lines from each of its line starts, quadratic in the run; spaces within the line suffice.)
_CUE_TIMING_LINE = re.compile(rf"^[^\S\n]*{_TS}\s*-->\s*{_TS}", re.MULTILINE)
_VOICE_TAG = re.compile(r"^<v(?:\.[^ >]+)?\s+(?P<name>[^>]+)>(?P<text>.*?)(?:</v>)?$")
_TAGS = re.compile(r"</?[^>]+>")
_SENTENCE_PUNCTUATION = re.compile(r"[.?!,;\"“”]")
WORDS_PER_SECOND = 2.5  # typical conversational speech; used only to estimate the last turn's length


@dataclass
class ParsedTranscript:
    segments: list[Segment]
    roles: dict[str, str] = field(default_factory=dict)  # SPEAKER_00 -> "Agent"
    has_timestamps: bool = False

    @property
    def duration(self) -> float | None:
        ends = [s.end for s in self.segments if s.end is not None]
        return round(max(ends), 3) if ends else None


def parse_timestamp(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) >= 2 else 0
    hours = int(parts[-3]) if len(parts) >= 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def _looks_like_label(label: str) -> bool:
    words = label.split()
    return (
        0 < len(words) <= 4
        and not _SENTENCE_PUNCTUATION.search(label)
        and not label.lower().startswith(("http", "www"))
        and label[0].isalnum()
    )


@dataclass
class _Turn:
    label: str | None
    first: str
    start: float | None = None
    end: float | None = None
    # Lines continuing the turn, joined once at the end: ``text += line`` per line is quadratic in a
    # long turn (a new string every time).
    more: list[str] = field(default_factory=list)

    def extend(self, line: str) -> None:
        self.more.append(line)

    @property
    def text(self) -> str:
        return " ".join([self.first, *self.more]) if self.more else self.first


class _SpeakerNumbering:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.roles: dict[str, str] = {}

    def id_for(self, label: str | None) -> str:
        key = (label or "").strip().casefold()
        if key not in self.ids:
            new_id = speaker_id(len(self.ids))
            self.ids[key] = new_id
            if label:
                self.roles[new_id] = label.strip()
        return self.ids[key]


def _estimate_length(text: str) -> float:
    return max(1.0, round(len(text.split()) / WORDS_PER_SECOND, 2))


def _finish(turns: list[_Turn]) -> ParsedTranscript:
    numbering = _SpeakerNumbering()
    texts = [(turn, text) for turn in turns if (text := turn.text).strip()]
    has_timestamps = any(turn.start is not None for turn, _ in texts)
    # The next turn's start after each turn (one pass from the end, not a scan per turn).
    following: list[float | None] = [None] * len(texts)
    upcoming: float | None = None
    for index in range(len(texts) - 1, -1, -1):
        following[index] = upcoming
        if texts[index][0].start is not None:
            upcoming = texts[index][0].start
    segments = []
    for (turn, text), next_start in zip(texts, following, strict=True):
        start, end = turn.start, turn.end
        if has_timestamps and start is not None and end is None:
            end = next_start if next_start is not None and next_start >= start else start + _estimate_length(text)
        segments.append(Segment(
            text=" ".join(text.split()),
            speaker=numbering.id_for(turn.label),
            start=start,
            end=end,
        ))
    return ParsedTranscript(segments=segments, roles=numbering.roles, has_timestamps=has_timestamps)


def _parse_subtitles(text: str) -> ParsedTranscript:
    turns: list[_Turn] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        timing_index = next((i for i, line in enumerate(lines) if _CUE_TIMING.match(line)), None)
        if timing_index is None:
            continue  # WEBVTT header, NOTE, STYLE blocks
        match = _CUE_TIMING.match(lines[timing_index])
        assert match is not None
        start, end = parse_timestamp(match["start"]), parse_timestamp(match["end"])
        for raw in lines[timing_index + 1:]:
            label = None
            voice = _voice_tag(raw.strip())
            if voice:
                label, raw = voice["name"].strip(), voice["text"]
            line = _strip_tags(raw).strip()
            if label is None:
                parts = split_line(line)
                if parts.label and _looks_like_label(parts.label):
                    label, line = parts.label, parts.text
            if label is None and turns and turns[-1].start == start:
                turns[-1].extend(line)
                continue
            turns.append(_Turn(label=label or (turns[-1].label if turns else None), first=line,
                               start=start, end=end))
    return _finish(turns)


def _voice_tag(line: str) -> re.Match[str] | None:
    # Without a ">" the pattern cannot match, but would first try every split of "<v" + spaces + text.
    return _VOICE_TAG.match(line) if ">" in line else None


def _strip_tags(line: str) -> str:
    # A tag needs a closing ">": after the last one nothing can match, and each "<" there would otherwise
    # scan to the end of the line (quadratic in a line of "<").
    last = line.rfind(">") + 1
    return _TAGS.sub("", line[:last]) + line[last:]


def _is_subtitles(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("WEBVTT") or bool(_CUE_TIMING_LINE.search(text))


_KNOWN_ROLES = re.compile(
    r"^(agent|customer|caller|client|rep|representative|support|operator|user|assistant|bot|host|guest|"
    r"interviewer|interviewee|moderator|sales|speaker\s*\w{1,3}|speaker_\d+|me|you|them)$",
    re.IGNORECASE,
)


@dataclass
class _Line:
    raw: str
    label: str | None
    stamp: str | None
    text: str
    label_start: int


def _split_line(raw_line: str) -> _Line:
    parts = split_line(raw_line)
    label = parts.label
    if label and not _looks_like_label(label):
        label = None
    return _Line(raw=raw_line, label=label, stamp=parts.stamp_before or parts.stamp_after, text=parts.text,
                 label_start=parts.label_start)


def _accepted_labels(lines: list[_Line]) -> set[str]:
    """Which "Word:" prefixes are speakers. A prefix counts when it names a known role, recurs, sits
    after a timestamp, or looks like a name (Title Case) in a text that has other speakers; when the text
    has only one-off prefixes, it counts if they make up most lines (a two-line chat). A lone "We said:"
    in prose does not count."""
    counts: dict[str, int] = {}
    name_like: set[str] = set()
    timestamped: set[str] = set()
    for line in lines:
        if line.label:
            key = line.label.strip().casefold()
            counts[key] = counts.get(key, 0) + 1
            if all(word[:1].isupper() for word in line.label.split()):
                name_like.add(key)
            if line.stamp:
                timestamped.add(key)
    accepted = {k for k, n in counts.items() if n >= 2} | {k for k in counts if _KNOWN_ROLES.match(k)} | timestamped
    if accepted:
        accepted |= name_like
    elif len(counts) >= 2 and sum(counts.values()) >= len(lines) / 2:
        accepted = set(counts)
    return accepted


def parse_transcript(text: str) -> ParsedTranscript:
    """Split ``text`` into segments. Never fails on odd input: unlabelled text is one speaker."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if _is_subtitles(text):
        return _parse_subtitles(text)

    raw_lines = text.split("\n")
    lines = [_split_line(raw) if raw.strip() else None for raw in raw_lines]
    accepted = _accepted_labels([line for line in lines if line is not None])

    turns: list[_Turn] = []
    labelled = False
    paragraph_break = False
    for line in lines:
        if line is None:
            paragraph_break = True
            continue
        label, line_text = line.label, line.text
        if label is None or label.strip().casefold() not in accepted:
            # Not a speaker after all: any "label" is part of the text.
            label = None
            if line.label_start >= 0:
                line_text = line.raw[line.label_start:].strip()
        start = parse_timestamp(line.stamp) if line.stamp else None
        if label:
            labelled = True
            turns.append(_Turn(label=label, first=line_text, start=start))
        elif start is not None:
            # A timestamp with no label: a new turn by the previous speaker (or the only one).
            turns.append(_Turn(label=turns[-1].label if turns else None, first=line_text, start=start))
        elif turns and (labelled or not paragraph_break):
            turns[-1].extend(line_text.strip())
        else:
            turns.append(_Turn(label=None, first=line_text))
        paragraph_break = False

    if labelled:
        # Text before the first label belongs to nobody in particular: keep it under the first speaker
        # rather than inventing an unnamed one.
        first_label = next(t.label for t in turns if t.label)
        for turn in turns:
            if turn.label is not None:
                break
            turn.label = first_label
    return _finish(turns)
