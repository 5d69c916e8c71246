"""What a dropped or uploaded file is: a text transcript or an audio recording. One answer for every
front door that takes files (the watcher, the web UI, the CLI).

What a file is comes from its content first (an audio container is audio whatever its name), then its
name: ``.txt``, ``.text``, ``.md``, ``.vtt`` and ``.srt`` are transcripts; anything else must be audio
the engine recognises. A transcript's text is read strictly: UTF-8 (with or without a byte-order mark)
or UTF-16 with one (Windows Notepad's "Unicode"); anything else is refused, never decoded with
replacement characters.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from heard_local.errors import UnsupportedFormatError, ValidationError
from heard_local.pipeline.audio_format import SUPPORTED_FORMATS, sniff_audio_format

TRANSCRIPT_SUFFIXES = frozenset({".txt", ".text", ".md", ".vtt", ".srt"})
# Bytes of a file's start that tell audio from text.
HEAD_BYTES = 4096
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def is_transcript(name: str, head: bytes) -> bool:
    """Whether a file called ``name`` whose first bytes are ``head`` is a text transcript."""
    if Path(name).suffix.lower() not in TRANSCRIPT_SUFFIXES:
        return False
    # A UTF-16 byte-order mark (FF FE) also looks like an MP3 frame header: the mark wins.
    return head.startswith(_TEXT_BOMS) or sniff_audio_format(head) is None


def transcript_text(raw: bytes, name: str) -> str:
    """The file's text: UTF-8 (with or without BOM), or UTF-16 with a BOM; ValidationError otherwise."""
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise ValidationError(f"{name} is not UTF-8 text. Save it as UTF-8 and try again.", field="file") from None


def neither_kind(name: str, refused: UnsupportedFormatError) -> UnsupportedFormatError:
    """The error for a file that is neither audio heard-local reads nor a transcript, naming both kinds."""
    kinds = ", ".join(SUPPORTED_FORMATS)
    transcripts = ", ".join(sorted(TRANSCRIPT_SUFFIXES))
    return UnsupportedFormatError(
        f"{name} is neither audio heard-local can read ({kinds}) nor a text transcript ({transcripts}). "
        "Convert it (e.g. `ffmpeg -i IN OUT.wav`) and try again.", details=refused.details)
