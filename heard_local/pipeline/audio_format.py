"""Recognising an audio container from its first bytes, never from the file name."""

from __future__ import annotations

from pathlib import Path

from heard_local.errors import UnsupportedFormatError, ValidationError

# What phone and call recorders write, all decoded by PyAV's FFmpeg (the format names the stored files).
SUPPORTED_FORMATS = ("wav", "mp3", "flac", "m4a", "webm", "ogg", "aac", "amr", "wma", "aiff", "caf", "3gp", "au",
                     "ac3", "wv")
_SUPPORTED_TEXT = f"Supported: {', '.join(SUPPORTED_FORMATS)}"
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")  # Windows Media (WMA) files
# Containers recognised by a fixed signature at the start: (signature, format).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"fLaC", "flac"),
    (b"OggS", "ogg"),
    (b"\x1a\x45\xdf\xa3", "webm"),  # EBML: WebM / Matroska audio
    (b"#!AMR", "amr"),  # AMR-NB ("#!AMR\n") and AMR-WB ("#!AMR-WB\n")
    (_ASF_GUID, "wma"),
    (b"caff\x00\x01", "caf"),  # Core Audio Format, version 1
    (b".snd\x00\x00", "au"),  # Sun/NeXT audio; a big-endian header size follows
    (b"wvpk", "wv"),  # WavPack
    (b"ID3", "mp3"),  # an ID3 tag; what follows is MPEG audio (or ADTS AAC), FFmpeg reads either
)


def sniff_audio_format(head: bytes) -> str | None:
    """The format of a file starting with ``head`` (≥ 64 bytes), or None when it is not one we take."""
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[4:8] == b"ftyp":  # ISO base media: m4a, mp4 audio; 3GPP files name their brand
        return "3gp" if head[8:10] in (b"3g", b"3G") else "m4a"
    for signature, fmt in _SIGNATURES:
        if head.startswith(signature):
            return fmt
    if _is_adts_frame(head):
        return "aac"
    if head[:2] == b"\x0b\x77":
        return "ac3"
    if _is_mpeg_frame(head):
        return "mp3"
    return None


def _is_adts_frame(frame: bytes) -> bool:
    """A raw AAC (ADTS) frame header: sync bits, layer 00, a valid sampling-frequency index."""
    return (len(frame) >= 7 and frame[0] == 0xFF and (frame[1] & 0xF6) == 0xF0
            and (frame[2] >> 2) & 0xF < 13)


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

