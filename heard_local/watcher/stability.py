"""Deciding when a dropped file is complete.

Slow copies (network drives, browsers, ``scp``) arrive in pieces, and a file closed once may be opened
again for the next piece. A file is taken only when its size and modification time have stayed the same
for ``window`` seconds and no event reported a change in that time. An empty file waits ten times longer:
many copy tools create the file first and write to it later.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_EMPTY_FILE_FACTOR = 10.0


@dataclass
class _Observation:
    size: int
    mtime_ns: int
    unchanged_since: float


class StabilityTracker:
    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self._clock = clock
        self._seen: dict[Path, _Observation | None] = {}  # None: not stat'ed yet

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, path: Path) -> bool:
        return path in self._seen

    def touch(self, path: Path) -> None:
        """Something happened to ``path`` (created, written, closed, moved in): restart its clock."""
        observation = self._seen.get(path)
        if observation is None:
            self._seen[path] = None
        else:
            observation.unchanged_since = self._clock()

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def paths(self) -> list[Path]:
        return list(self._seen)

    def ready(self) -> list[Path]:
        """Files that have settled; they are forgotten here (the caller takes them). Files that vanished
        or turned out not to be regular files are dropped; links settle like files (the caller refuses
        them), and are never followed here."""
        now = self._clock()
        settled: list[Path] = []
        for path, observation in list(self._seen.items()):
            try:
                info = os.lstat(path)
            except OSError:  # deleted or moved away before it settled
                del self._seen[path]
                continue
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                del self._seen[path]
                continue
            if observation is None or (info.st_size, info.st_mtime_ns) != (observation.size, observation.mtime_ns):
                self._seen[path] = _Observation(info.st_size, info.st_mtime_ns, now)
                continue
            needed = self.window * (_EMPTY_FILE_FACTOR if info.st_size == 0 else 1.0)
            if now - observation.unchanged_since >= needed:
                del self._seen[path]
                settled.append(path)
        return settled

