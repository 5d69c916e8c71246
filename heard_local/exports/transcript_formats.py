"""A transcription as JSON (the API shape), speaker-labelled text, SRT and WebVTT.

Speaker labels use the name a user gave, else the transcript's role ("Agent"), else SPEAKER_00.
"""

from __future__ import annotations

import json

from heard_local.domain import Segment, Transcription
from heard_local.errors import ValidationError

FORMATS = ("json", "txt", "srt", "vtt")
MEDIA_TYPES = {"json": "application/json", "txt": "text/plain; charset=utf-8",
               "srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}


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


def to_json(transcription: Transcription) -> str:
    return json.dumps(transcription.to_api(), ensure_ascii=False, indent=2)


def to_txt(transcription: Transcription) -> str:
    lines = []
    for segment in _segments(transcription):
        stamp = f"[{_short_clock(segment.start)}] " if segment.start is not None else ""
        lines.append(f"{stamp}{transcription.speaker_label(segment.speaker)}: {segment.text}")
    return "\n".join(lines) + ("\n" if lines else "")


def _timed(transcription: Transcription) -> list[tuple[float, float, Segment]]:
    """Segments with times; untimed transcripts get consecutive 1-second-per-3-words slots."""
    timed = []
    cursor = 0.0
    for segment in _segments(transcription):
        start = segment.start if segment.start is not None else cursor
        end = segment.end if segment.end is not None else start + max(1.0, len(segment.text.split()) / 3)
        end = max(end, start + 0.001)
        timed.append((start, end, segment))
        cursor = end
    return timed


def to_srt(transcription: Transcription) -> str:
    blocks = []
    for index, (start, end, segment) in enumerate(_timed(transcription), start=1):
        text = f"{transcription.speaker_label(segment.speaker)}: {segment.text}"
        # A blank line would end the cue early.
        text = "\n".join(line for line in text.splitlines() if line.strip())
        blocks.append(f"{index}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(transcription: Transcription) -> str:
    parts = ["WEBVTT", ""]
    for start, end, segment in _timed(transcription):
        speaker = _vtt_escape(transcription.speaker_label(segment.speaker))
        text = " ".join(_vtt_escape(segment.text).split())
        parts.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n<v {speaker}>{text}</v>\n")
    return "\n".join(parts)


def render(transcription: Transcription, fmt: str) -> str:
    renderers = {"json": to_json, "txt": to_txt, "srt": to_srt, "vtt": to_vtt}
    if fmt not in renderers:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}", field="format")
    return renderers[fmt](transcription)
