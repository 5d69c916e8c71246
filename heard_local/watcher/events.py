"""File-system events from watchdog, reduced to what the watcher acts on.

Two ways to hear about changes:
- inotify (the default on Linux): one recursive watch on the root, one inotify instance. Events from the
  output folders are dropped by the service; with nothing happening there they cost nothing.
- polling (``watch_polling``; network drives, where inotify misses changes made by other machines): one
  non-recursive watch per input directory, so ``processed/`` and ``failed/`` are never listed, however
  many files they hold.
If inotify cannot start (its per-user limits reached), polling takes over with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserverVFS

log = logging.getLogger(__name__)


class _StopRaceFilter(logging.Filter):
    """watchdog 7 logs an ERROR when its inotify thread is stopped while waiting for an event; the stop is
    ours and nothing is lost, so the message would only alarm users at every shutdown."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_StopRaceFilter())

# Event types that say a file's content or place changed; opened / closed-without-writing are just reads
# (the watcher's own reads among them).
_RELEVANT = frozenset({"created", "modified", "closed", "moved", "deleted"})


@dataclass(frozen=True)
class FsEvent:
    kind: str  # created | modified | closed | moved | deleted
    path: Path
    dest: Path | None = None  # for moves
    is_directory: bool = False


class EventInbox(FileSystemEventHandler):
    """Collects events from watchdog's thread for the service's own thread, and wakes it."""

    def __init__(self, wake: threading.Event):
        self._queue: queue.SimpleQueue[FsEvent] = queue.SimpleQueue()
        self._wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT:
            return
        dest = Path(os.fsdecode(event.dest_path)) if event.dest_path else None
        self._queue.put(FsEvent(event.event_type, Path(os.fsdecode(event.src_path)), dest, event.is_directory))
        self._wake.set()

    def drain(self) -> list[FsEvent]:
        events = []
        while True:
            try:
                events.append(self._queue.get_nowait())
            except queue.Empty:
                return events


class DirectoryWatches:
    def __init__(self, root: Path, inbox: EventInbox, *, polling: bool, poll_interval: float):
        self.root = root
        self._inbox = inbox
        self._poll_interval = poll_interval
        self.polling = polling
        self._observer: BaseObserver | None = None
        self._watches: dict[Path, ObservedWatch] = {}

    @property
    def mode(self) -> str:
        return "polling" if self.polling else "inotify"

    def start(self) -> None:
        if not self.polling:
            try:
                self._observer = Observer()
                self._observer.start()
                self._watches[self.root] = self._observer.schedule(self._inbox, str(self.root), recursive=True)
                return
            except OSError as exc:
                log.warning("watch: inotify is unavailable (%s); polling every %.1fs instead. To use inotify, "
                            "raise fs.inotify.max_user_instances / max_user_watches with sysctl.",
                            exc, self._poll_interval)
                self._stop_observer()
                self.polling = True
        # lstat: links are seen as themselves (a link to a directory is not entered, a dangling link is not
        # missed) and refused by the service.
        self._observer = PollingObserverVFS(os.lstat, os.scandir, polling_interval=self._poll_interval)
        self._observer.start()

    def add(self, directory: Path) -> None:
        """Watch ``directory`` (polling mode only: inotify's recursive watch already covers it)."""
        if not self.polling or self._observer is None or directory in self._watches:
            return
        try:
            self._watches[directory] = self._observer.schedule(self._inbox, str(directory), recursive=False)
        except OSError as exc:  # gone already, or unreadable: the periodic rescan covers it
            log.debug("watch: cannot watch %s: %s", directory, exc)

    def remove(self, directory: Path) -> None:
        """Stop watching ``directory`` and everything under it (it was deleted or moved away)."""
        if not self.polling or self._observer is None:
            return
        for watched in [d for d in self._watches if d == directory or directory in d.parents]:
            with contextlib.suppress(KeyError, OSError):
                self._observer.unschedule(self._watches.pop(watched))

    def prune(self) -> None:
        """Forget watches on directories that no longer exist."""
        for directory in [d for d in self._watches if d != self.root and not d.is_dir()]:
            self.remove(directory)

    def watched(self) -> list[Path]:
        return sorted(self._watches)

    def stop(self) -> None:
        self._stop_observer()
        self._watches.clear()

    def _stop_observer(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            if self._observer.is_alive():
                self._observer.join(timeout=10)
            self._observer = None
