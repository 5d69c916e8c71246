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
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:
        return "mp3"  # MPEG audio frame sync with a valid layer
    return None


def detect_audio_format(path: Path) -> str:
    """Format of the file at ``path``; UnsupportedFormatError (415) for anything else, an empty file
    included."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise ValidationError("The audio file is empty.", field="audio_file")
    fmt = sniff_audio_format(head)
    if fmt is None and head[:3] != b"ID3":
        # MP3 files sometimes carry junk before the first frame: look for a frame sync further in.
        for i in range(min(len(head) - 1, 4095)):
            if head[i] == 0xFF and (head[i + 1] & 0xE0) == 0xE0 and (head[i + 1] & 0x06) != 0 and i > 0:
                if i + 4 < len(head) and sniff_audio_format(head[i:]) == "mp3" and _plausible_mp3(head[i:]):
                    fmt = "mp3"
                break
    if fmt is None:
        raise UnsupportedFormatError(f"Audio format not recognized. {_SUPPORTED_TEXT}", field="audio_file")
    return fmt


def _plausible_mp3(frame: bytes) -> bool:
    bitrate_index = frame[2] >> 4
    sample_rate_index = (frame[2] >> 2) & 0x3
    return bitrate_index not in (0, 15) and sample_rate_index != 3
