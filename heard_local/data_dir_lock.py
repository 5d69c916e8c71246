"""One heard-local process per data directory.

DuckDB lets only one process open a database file read-write. An OS file lock on a lock file beside it
turns "Could not set lock on file" into a clear message naming the process that holds it, and
disappears by itself when that process dies (even on SIGKILL). ``filelock.lock_descriptor`` picks the
primitive: ``flock`` on POSIX, ``LockFileEx`` on byte 0 on Windows (so this module imports everywhere;
there is no ``fcntl`` on Windows).

The holder writes its PID after that first byte: a Windows byte-range lock also blocks other processes
from reading the locked byte, and they still need to read the PID.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from filelock import lock_descriptor, unlock_descriptor

from heard_local.errors import DataDirLockedError, InternalError

# "\n" + PID right-aligned in a fixed width + "\n": a rewrite always covers the previous holder's PID, so
# the file needs no truncation while it is locked.
_PID_WIDTH = 20
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

# How long a lock held by someone else is retried before giving up: far longer than a probe holds it.
_PROBE_GRACE_SECONDS = 1.0


class DataDirLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _BINARY, 0o600)
        # ``is_locked`` (the CLI or a notebook asking whether a server runs) takes the lock for an instant:
        # a server starting at that instant tries again rather than exit with "in use".
        deadline = time.monotonic() + _PROBE_GRACE_SECONDS
        while True:
            try:
                locked = _try_lock(fd, self.path)
            except BaseException:
                os.close(fd)
                raise
            if locked:
                break
            if time.monotonic() >= deadline:
                os.close(fd)
                raise DataDirLockedError(str(self.path.parent), holder_pid(self.path))
            time.sleep(0.01)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"\n{os.getpid():>{_PID_WIDTH}}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            unlock_descriptor(self._fd)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _try_lock(fd: int, path: Path) -> bool:
    """True when this descriptor now holds the lock, False when another process does."""
    try:
        return lock_descriptor(fd, blocking=False)
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP):
            raise InternalError(
                f"Cannot lock {path}: this file system or platform has no file locks ({exc.strerror}). "
                "Put the data directory on a local disk (--data-dir or HEARD_DATA_DIR).",
                details={"path": str(path)},
            ) from None
        raise


def holder_pid(path: Path) -> int | None:
    """PID written by the process holding the lock, if any."""
    try:
        with path.open("rb") as file:
            file.seek(1)  # byte 0 is the one Windows locks
            text = file.read(2 * _PID_WIDTH).strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def is_locked(path: Path) -> bool:
    """True when another process holds the data directory."""
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if not lock_descriptor(fd, blocking=False):
            return True
        unlock_descriptor(fd)
        return False
    except OSError:  # no file locks here: nobody can hold the directory this way
        return False
    finally:
        os.close(fd)
