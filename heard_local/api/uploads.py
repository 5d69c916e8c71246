"""Receiving a multipart upload as a stream: the ``audio_file`` part goes straight into a server-named
file in the media directory (never the client's file name), the cap is enforced while bytes arrive,
and anything partial is removed when the upload fails."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from heard_local.errors import FileTooLargeError, ValidationError

FILE_FIELD = "audio_file"
TEXT_FIELDS = ("metadata", "configuration_id")
MAX_TEXT_FIELD_BYTES = 256 * 1024
# One header line of a part ("Content-Disposition: form-data; name=…; filename=…"): a few hundred bytes
# in practice. The parser refuses longer lines; the receiver keeps its own cap on what it collects.
MAX_PART_HEADER_BYTES = 4 * 1024
# The parser is fed at most this much at a time, so every limit it checks trips within one slice.
_PARSE_SLICE = 64 * 1024
UPLOAD_PREFIX = "upload-"


def human_size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


@dataclass
class ReceivedUpload:
    path: Path | None = None  # the audio_file part; the caller moves or deletes it
    filename: str | None = None
    size: int = 0
    sha256: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class _Receiver:
    """python-multipart callbacks writing the file part to disk and collecting the text parts."""

    def __init__(self, dest_dir: Path, max_bytes: int):
        self.dest_dir = dest_dir
        self.max_bytes = max_bytes
        self.upload = ReceivedUpload()
        self._digest = hashlib.sha256()
        self._out: IO[bytes] | None = None
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._name = ""
        self._text = bytearray()

    # headers of a part
    def on_part_begin(self) -> None:
        self._disposition = b""
        self._name = ""
        self._text = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        _collect(self._header_name, data, start, end)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        _collect(self._header_value, data, start, end)

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise ValidationError("A multipart part has no name", field="body")
        self._name = name.decode("utf-8", "replace")
        if self._name == FILE_FIELD:
            if self.upload.path is not None:
                raise ValidationError("Send one audio_file per request", field=FILE_FIELD)
            filename = options.get(b"filename")
            self.upload.filename = filename.decode("utf-8", "replace") if filename else None
            fd, name_on_disk = tempfile.mkstemp(prefix=UPLOAD_PREFIX, suffix=".part", dir=self.dest_dir)
            self.upload.path = Path(name_on_disk)
            self._out = os.fdopen(fd, "wb")
        elif self._name == "audio_url":
            raise ValidationError("Send either audio_url (JSON) or audio_file (multipart/form-data), not both",
                                  field="audio_url")
        elif self._name not in TEXT_FIELDS:
            raise ValidationError(f"Unknown form field {self._name!r}; expected audio_file, metadata and "
                                  "configuration_id", field=self._name)
        elif self._name in self.upload.fields:
            raise ValidationError(f"The form field {self._name!r} was sent twice", field=self._name)

    # content of a part
    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_bytes:
                raise FileTooLargeError(f"Audio exceeds the maximum size ({human_size(self.max_bytes)})",
                                        field=FILE_FIELD)
            self._digest.update(chunk)
            self._out.write(chunk)
            return
        if len(self._text) + len(chunk) > MAX_TEXT_FIELD_BYTES:
            raise ValidationError(f"The form field {self._name!r} is too long", field=self._name)
        self._text.extend(chunk)

    def on_part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            self.upload.sha256 = self._digest.hexdigest()
        elif self._name:
            try:
                self.upload.fields[self._name] = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationError(f"The form field {self._name!r} is not UTF-8 text", field=self._name) from None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def receive_upload(content_type: str, stream: AsyncIterator[bytes], dest_dir: Path,
                         max_bytes: int) -> ReceivedUpload:
    """Parse a multipart/form-data body from ``stream``. On any error nothing is left on disk."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise ValidationError("multipart/form-data without a boundary", field="content-type")
    dest_dir.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(dest_dir, max_bytes)
    parser = MultipartParser(boundary, max_header_size=MAX_PART_HEADER_BYTES + 128, callbacks={  # type: ignore[arg-type]
        "on_part_begin": receiver.on_part_begin,
        "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end,
        "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value,
        "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
    })
    try:
        async for chunk in stream:
            for start in range(0, len(chunk), _PARSE_SLICE):
                parser.write(chunk[start:start + _PARSE_SLICE])
        parser.finalize()
    except FormParserError as exc:
        receiver.close()
        receiver.upload.discard()
        if "header" in str(exc).lower():
            raise _headers_too_long() from None
        raise ValidationError("The multipart/form-data body is malformed", field="body") from None
    except BaseException:
        receiver.close()
        receiver.upload.discard()
        raise
    receiver.close()
    if receiver.upload.path is not None and not receiver.upload.sha256:
        receiver.upload.discard()  # the body ended inside the file part
        raise ValidationError("The multipart/form-data body ended in the middle of audio_file", field=FILE_FIELD)
    return receiver.upload


def _headers_too_long() -> ValidationError:
    return ValidationError(f"A multipart part has a header longer than {human_size(MAX_PART_HEADER_BYTES)}, or too "
                           "many headers", field="body")


def _collect(into: bytearray, data: bytes, start: int, end: int) -> None:
    if len(into) + end - start > MAX_PART_HEADER_BYTES:
        raise _headers_too_long()
    into += data[start:end]


def remove_stale_partials(dest_dir: Path, idle_seconds: float = 600.0) -> int:
    """Partial uploads and downloads a crash left behind: any not written to for ``idle_seconds``
    (a live transfer keeps its file's mtime fresh)."""
    removed = 0
    cutoff = time.time() - idle_seconds
    for pattern in (f"{UPLOAD_PREFIX}*.part", "fetch-*.part"):
        for path in dest_dir.glob(pattern):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
    return removed
