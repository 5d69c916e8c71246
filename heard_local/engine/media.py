"""Stored media files: named by content hash under the data directory, never by the client's name."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def media_path_for(media_dir: Path, sha256: str, fmt: str) -> Path:
    return media_dir / sha256[:2] / f"{sha256}.{fmt}"


def store_media(source: Path, media_dir: Path, sha256: str, fmt: str, *, move: bool) -> Path:
    """Place ``source`` at its content-addressed path (atomic rename when on the same filesystem), on
    disk before this returns: the API answers 202 only for media that a power cut cannot take back."""
    target = media_path_for(media_dir, sha256, fmt)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if move:
            source.unlink(missing_ok=True)
        return target
    tmp = target.with_suffix(target.suffix + ".tmp")
    if move:
        try:
            os.replace(source, target)
            _sync(target)
            return target
        except OSError:
            shutil.copyfile(source, tmp)
            _sync_and_rename(tmp, target)
            source.unlink(missing_ok=True)
            return target
    shutil.copyfile(source, tmp)
    _sync_and_rename(tmp, target)
    return target


def _sync_and_rename(tmp: Path, target: Path) -> None:
    _fsync(tmp)  # the content first: a rename must never expose a file whose data did not reach the disk
    os.replace(tmp, target)
    _sync(target)


def _sync(path: Path) -> None:
    """The file's content and its name in the directory (and the directory's in its parent, which may
    be new)."""
    _fsync(path)
    _fsync(path.parent)
    _fsync(path.parent.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
