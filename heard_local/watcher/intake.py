"""Handing one settled file to the engine: an audio recording or a text transcript.

What a file is comes from its content first (an audio container is audio whatever its name), then its
name: ``.txt``, ``.text``, ``.md``, ``.vtt`` and ``.srt`` are transcripts; anything else must be audio
the engine recognises, or it fails with a message naming both kinds.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from heard_local.domain import Configuration
from heard_local.engine import Engine, Submission
from heard_local.errors import UnsupportedFormatError, ValidationError
from heard_local.pipeline.audio_format import SUPPORTED_FORMATS, sniff_audio_format

TRANSCRIPT_SUFFIXES = frozenset({".txt", ".text", ".md", ".vtt", ".srt"})
_HEAD_BYTES = 4096
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def is_transcript(path: Path) -> bool:
    if path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
        return False
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    # A UTF-16 byte-order mark (FF FE) also looks like an MP3 frame header: the mark wins.
    return head.startswith(_TEXT_BOMS) or sniff_audio_format(head) is None


def read_transcript_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), or UTF-16 with a BOM (Windows Notepad's "Unicode")."""
    raw = path.read_bytes()
    encoding = "utf-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise ValidationError(f"{path.name} is not UTF-8 text. Save it as UTF-8 and drop it again.",
                              field="file") from None


def submit_file(engine: Engine, path: Path, configuration: Configuration,
                metadata: dict[str, Any]) -> Submission:
    """Queue ``path`` with the engine; returns its Submission (``duplicate`` when the same content was
    already submitted with this configuration). Raises HeardError for a file that cannot be taken."""
    metadata = {**metadata, "name": path.name[:255]}
    if is_transcript(path):
        return engine.submit_transcript({"transcript_text": read_transcript_text(path), "metadata": metadata,
                                         "configuration_id": configuration.configuration_id})
    try:
        return engine.submit_audio_file(path, metadata=metadata, configuration=configuration.configuration_id,
                                        original_name=path.name)
    except UnsupportedFormatError as exc:
        kinds = ", ".join(SUPPORTED_FORMATS)
        transcripts = ", ".join(sorted(TRANSCRIPT_SUFFIXES))
        raise UnsupportedFormatError(
            f"{path.name} is neither audio heard-local can read ({kinds}) nor a text transcript ({transcripts}). "
            "Convert it (e.g. `ffmpeg -i IN OUT.wav`) and drop it again.", details=exc.details) from None
