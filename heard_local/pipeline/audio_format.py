"""Recognising an audio container from its first bytes, never from the file name."""

from __future__ import annotations

from pathlib import Path

from heard_local.errors import UnsupportedFormatError, ValidationError

SUPPORTED_FORMATS = ("wav", "mp3", "flac", "m4a", "webm", "ogg")
_SUPPORTED_TEXT = "Supported: wav, mp3, flac, m4a, webm, ogg"


def sniff_audio_format(head: bytes) -> str | None:
    """The format of a file starting with ``head`` (≥ 64 bytes), or None when it is not one we take."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] in (b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"  # EBML: WebM / Matroska audio
    if head[4:8] == b"ftyp":
        return "m4a"  # ISO base media (m4a, mp4 audio, 3gp)
    if head[:3] == b"ID3":
        return "mp3"
    if _is_mpeg_frame(head):
        return "mp3"
    return None


def _is_mpeg_frame(frame: bytes) -> bool:
    """An MPEG audio frame header: sync bits, layer II or III (layer I is all but unused, and its bits
    match a UTF-16 byte-order mark), a valid bitrate and sample rate."""
    if len(frame) < 3 or frame[0] != 0xFF or (frame[1] & 0xE0) != 0xE0:
        return False
    if (frame[1] >> 3) & 0x3 == 1 or (frame[1] & 0x06) not in (0x02, 0x04):
        return False  # reserved MPEG version, or layer I / reserved
    return frame[2] >> 4 not in (0, 15) and (frame[2] >> 2) & 0x3 != 3


def detect_audio_format(path: Path) -> str:
    """Format of the file at ``path``; UnsupportedFormatError (415) for anything else, an empty file
    included."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise ValidationError("The audio file is empty.", field="audio_file")
    fmt = sniff_audio_format(head)
    if fmt is None:
        raise UnsupportedFormatError(f"Audio format not recognized. {_SUPPORTED_TEXT}", field="audio_file")
    return fmt

