"""One answer to "transcript or audio?" for the watcher, the UI and the CLI, and strict text decoding."""

from __future__ import annotations

import codecs

import pytest

from heard_local.engine.intake import is_transcript, neither_kind, transcript_text
from heard_local.errors import UnsupportedFormatError, ValidationError

WAV_HEAD = b"RIFF\x24\x08\x00\x00WAVEfmt "


def test_the_content_wins_over_the_name_and_the_name_decides_for_text() -> None:
    assert is_transcript("call.txt", b"Agent: Hello\nCustomer: Hi")
    assert is_transcript("notes.SRT", b"1\n00:00:01,000 --> 00:00:02,000\nHi")
    assert not is_transcript("call.txt", WAV_HEAD)  # a recording named .txt is still a recording
    assert not is_transcript("call.wav", b"Agent: Hello")  # not a transcript name: the engine decides (415)
    # a UTF-16 byte-order mark (FF FE) also looks like an MP3 frame header: the mark wins
    assert is_transcript("notepad.txt", codecs.BOM_UTF16_LE + "Agent: Hi".encode("utf-16-le"))


def test_text_is_read_strictly() -> None:
    assert transcript_text(codecs.BOM_UTF8 + "Agent: Grüß Gott".encode(), "a.txt") == "Agent: Grüß Gott"
    assert transcript_text(codecs.BOM_UTF16_LE + "Agent: Hi".encode("utf-16-le"), "a.txt") == "Agent: Hi"
    with pytest.raises(ValidationError, match=r"a\.txt is not UTF-8 text") as refused:
        transcript_text("Agent: Grüß".encode("latin-1"), "a.txt")  # never decoded with replacement characters
    assert refused.value.details["field"] == "file"


def test_a_file_that_is_neither_names_both_kinds() -> None:
    error = neither_kind("blob.bin", UnsupportedFormatError("unknown", details={"sniffed": None}))
    assert "neither audio" in error.message and "wav" in error.message and ".txt" in error.message
    assert error.details == {"sniffed": None}
