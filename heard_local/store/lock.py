"""One heard-local process per data directory.

DuckDB lets only one process open a database file read-write. An advisory ``flock`` on a lock file
beside it turns "Could not set lock on file" into a clear message naming the process that holds it,
and disappears by itself when that process dies (even on SIGKILL).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from heard_local.errors import DataDirLockedError

# How long a lock held by someone else is retried before giving up: far longer than a probe holds it.
_PROBE_GRACE_SECONDS = 1.0


class DataDirLock:
    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        # ``is_locked`` (the CLI or a notebook asking whether a server runs) takes the lock for an instant:
        # a server starting at that instant tries again rather than exit with "in use".
        deadline = time.monotonic() + _PROBE_GRACE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise DataDirLockedError(str(self.path.parent), holder_pid(self.path)) from None
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def holder_pid(path: Path) -> int | None:
    """PID written by the process holding the lock, if any."""
    try:
        text = path.read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def is_locked(path: Path) -> bool:
    """True when another process holds the data directory."""
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
