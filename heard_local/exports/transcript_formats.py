"""A transcription as JSON (the API shape), speaker-labelled text, SRT and WebVTT.

Speaker labels use the name a user gave, else the transcript's role ("Agent"), else SPEAKER_00.

Subtitles follow their formats strictly: SRT cues are ``index``, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``,
text, separated by one blank line; WebVTT starts with ``WEBVTT``, uses ``HH:MM:SS.mmm``, escapes
``& < >`` and names the speaker with a ``<v Speaker>`` voice tag (SRT starts each cue with "Speaker: ").
A long turn is split into several cues of at most two lines of 42 characters: at word boundaries, timed
by the recogniser's words (:mod:`heard_local.exports.subtitle_cues`), or for a transcript without word
timings with its time shared out by length. Pass ``split=False`` for exactly one cue per segment.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from heard_local.domain import Segment, Transcription
from heard_local.errors import ConflictError, ValidationError
from heard_local.exports.subtitle_cues import LINE_CHARS, cut_words

FORMATS = ("json", "txt", "srt", "vtt")
MEDIA_TYPES = {"json": "application/json", "txt": "text/plain; charset=utf-8",
               "srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}

_MIN_SECONDS_PER_CUE = 0.5  # never split a turn into cues shorter than this
_WORDS_PER_SECOND = 2.5  # conversational speech, for transcripts without timestamps
_SENTENCE_END = re.compile(r"[.!?…:;]$")


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    speaker: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def _segments(transcription: Transcription) -> list[Segment]:
    return transcription.details.conversation.segments if transcription.details else []


def _clock(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _short_clock(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def to_json(transcription: Transcription) -> str:
    return json.dumps(transcription.to_api(), ensure_ascii=False, indent=2) + "\n"


def to_txt(transcription: Transcription) -> str:
    lines = []
    for segment in _segments(transcription):
        stamp = f"[{_short_clock(segment.start)}] " if segment.start is not None else ""
        lines.append(f"{stamp}{_one_line(transcription.speaker_label(segment.speaker))}: {_one_line(segment.text)}")
    return "\n".join(lines) + ("\n" if lines else "")


def _timed(transcription: Transcription) -> list[tuple[float, float, Segment]]:
    """Segments with times; a transcript without timestamps gets consecutive slots at speaking pace."""
    timed = []
    cursor = 0.0
    for segment in _segments(transcription):
        start = segment.start if segment.start is not None else cursor
        end = segment.end if segment.end is not None else start + max(1.0, len(segment.text.split())
                                                                         / _WORDS_PER_SECOND)
        end = max(end, start + 0.001)
        timed.append((start, end, segment))
        cursor = end
    return timed


def _cue_lines(words: list[str], prefix: str, split: bool) -> list[list[str]]:
    """Words laid out in lines of at most LINE_CHARS (a longer word gets a line of its own). With
    ``split``, every two lines make a cue, closed early at a sentence end on its second line; each
    cue's first line starts with ``prefix``."""
    result: list[list[str]] = []
    lines: list[str] = []
    line, empty = prefix, True
    for word in words:
        candidate = line + word if empty else f"{line} {word}"
        if not empty and len(candidate) > LINE_CHARS:
            lines.append(line)
            if split and len(lines) == 2:
                result.append(lines)
                lines, line = [], prefix + word
            else:
                line = word
        else:
            line = candidate
        empty = False
        if split and len(lines) == 1 and _SENTENCE_END.search(word):
            result.append([*lines, line])
            lines, line, empty = [], prefix, True
    if not empty:
        lines.append(line)
    if lines:
        result.append(lines)
    return [[line.rstrip() for line in cue] for cue in result]


def cues(transcription: Transcription, *, split: bool = True, speaker_prefix: bool = False) -> list[Cue]:
    """The subtitle cues of a transcription: one per segment, or (``split``) as many two-line cues as a
    segment needs, cut at its words' times (without word timings: its time shared out by length).
    ``speaker_prefix`` starts each cue with "Name: "."""
    result = []
    for start, end, segment in _timed(transcription):
        speaker = _one_line(transcription.speaker_label(segment.speaker))
        words = segment.text.split() or [""]
        prefix = f"{speaker}: " if speaker_prefix else ""
        if split and segment.words:
            result += [Cue(start=c.start, end=c.end, speaker=speaker, lines=c.lines)
                       for c in cut_words(segment.words, prefix)]
            continue
        laid_out = _cue_lines(words, prefix, split)
        if len(laid_out) > 1 and end - start < _MIN_SECONDS_PER_CUE * len(laid_out):
            laid_out = _cue_lines(words, prefix, split=False)
        lengths = [max(1, sum(len(line) for line in lines) - len(prefix)) for lines in laid_out]
        cursor = start
        for index, lines in enumerate(laid_out):
            piece_end = end if index == len(laid_out) - 1 else cursor + (end - start) * lengths[index] / sum(lengths)
            result.append(Cue(start=cursor, end=piece_end, speaker=speaker, lines=tuple(lines)))
            cursor = piece_end
    return result


def to_srt(transcription: Transcription, *, split: bool = True) -> str:
    blocks = []
    for index, cue in enumerate(cues(transcription, split=split, speaker_prefix=True), start=1):
        # "-->" inside a text line would read as a timing line to some parsers.
        text = "\n".join(cue.lines).replace("-->", "->")
        blocks.append(f"{index}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(transcription: Transcription, *, split: bool = True) -> str:
    parts = ["WEBVTT", ""]
    for cue in cues(transcription, split=split):
        text = "\n".join(_vtt_escape(line) for line in cue.lines)
        parts.append(f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}\n<v {_vtt_escape(cue.speaker)}>{text}</v>\n")
    return "\n".join(parts)


_RENDERERS: dict[str, Callable[[Transcription], str]] = {"json": to_json, "txt": to_txt, "srt": to_srt,
                                                         "vtt": to_vtt}


def render(transcription: Transcription, fmt: str) -> str:
    """The transcription in ``fmt`` (an unfinished one renders as an empty transcript)."""
    if fmt not in _RENDERERS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}", field="format")
    return _RENDERERS[fmt](transcription)


def require_transcript(transcription: Transcription, fmt: str) -> None:
    """409 for a text export of a transcription that has no transcript yet (JSON always works)."""
    if fmt != "json" and transcription.details is None:
        raise ConflictError(f"Transcription {transcription.transcription_id} is {transcription.status.value}; "
                            f"there is no transcript to export as {fmt} yet.", field="transcription_id")


def export_filename(transcription: Transcription, fmt: str) -> str:
    """A safe file name for an export: the transcription's name (else its id) and the format's extension."""
    base = unicodedata.normalize("NFC", transcription.name or "").strip()
    base = re.sub(r"\.(json|txt|srt|vtt|wav|mp3|flac|m4a|webm|ogg|aac|amr|wma|aiff?|caf|3gp|au|ac3|wv)$", "", base,
                  flags=re.IGNORECASE)
    # Only what a file system refuses (Windows' list is the strictest) or misreads (paths) is replaced.
    base = re.sub(r'[\x00-\x1f\x7f<>:"/\\|?*]+', "_", " ".join(base.split())).strip(" ._")[:120]
    return f"{base or transcription.transcription_id}.{fmt}"
