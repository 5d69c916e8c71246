"""Handing one settled file to the engine: an audio recording or a text transcript.

What a file is, and how a transcript's bytes are read, is decided by :mod:`heard_local.engine.intake`
(the same for the UI and the CLI); a file that is neither fails with a message naming both kinds.

A watch folder may be shared, so what is in it is not trusted: a symbolic link (to ``~/.ssh/id_rsa``, say)
is refused, never followed (checked with lstat, and the file is opened with O_NOFOLLOW and read through
that one descriptor, so a link swapped in after the check is refused too); a name that is not valid
UTF-8 is refused with a message saying how to fix it (it could not be stored or reported otherwise).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import IO, Any

from heard_local.domain import Configuration, Submission
from heard_local.engine import Engine
from heard_local.engine.intake import HEAD_BYTES, is_transcript, neither_kind, transcript_text
from heard_local.errors import UnsupportedFormatError, ValidationError
from heard_local.watcher.layout import printable

# Swept by the API's start-up clean-up like other partial downloads when a crash leaves one behind.
_COPY_PREFIX = "fetch-watch-"


def _link_error(path: Path) -> ValidationError:
    return ValidationError(f"{printable(path.name)} is a symbolic link. Watch folders never follow links (one could "
                           "point at a file you did not mean to share); copy the file itself in.", field="file")


def refuse_unsafe(path: Path) -> None:
    """Raise ValidationError for a file the watcher must not take: a link, a file inside a linked
    directory, or a name that is not valid UTF-8."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"The name {printable(path.name)!r} is not valid UTF-8 (it was probably written by an "
                              "older system in another encoding). Rename the file and drop it again.",
                              field="file") from None
    if stat.S_ISLNK(os.lstat(path).st_mode):
        raise _link_error(path)
    if os.path.realpath(path.parent) != str(path.parent):
        raise ValidationError(f"{printable(path.name)} lies in a linked directory. Watch folders never follow "
                              "links; copy the files themselves in.", field="file")


def _open_regular(path: Path) -> IO[bytes]:
    """``path`` opened for reading without following a link, and only if it is a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_error(path) from None
        raise
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise ValidationError(f"{printable(path.name)} is not a regular file.", field="file")
    return handle


def _copy_out(handle: IO[bytes], head: bytes, media_dir: Path) -> Path:
    """The open file's bytes in a private file of the media store (the engine moves it into place)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_COPY_PREFIX, suffix=".part", dir=media_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head)
            shutil.copyfileobj(handle, out, 1 << 20)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def submit_file(engine: Engine, path: Path, configuration: Configuration,
                metadata: dict[str, Any]) -> Submission:
    """Queue ``path`` with the engine; returns its Submission (``duplicate`` when the same content was
    already submitted with this configuration). Raises HeardError for a file that cannot be taken."""
    refuse_unsafe(path)
    metadata = {**metadata, "name": path.name[:255]}
    with _open_regular(path) as handle:
        head = handle.read(HEAD_BYTES)
        if is_transcript(path.name, head):
            text = transcript_text(head + handle.read(), path.name)
            return engine.ingest.transcript({"transcript_text": text, "metadata": metadata,
                                             "configuration_id": configuration.configuration_id})
        copy = _copy_out(handle, head, engine.settings.media_dir)
    try:
        return engine.ingest.audio_file(copy, metadata=metadata, configuration=configuration.configuration_id,
                                        original_name=path.name, move=True)
    except UnsupportedFormatError as exc:
        raise neither_kind(path.name, exc) from None
    finally:
        copy.unlink(missing_ok=True)  # moved into the media store unless it was refused
