"""The watcher's memory across restarts: which dropped file belongs to which queued job.

The job queue survives a restart by itself; this journal lets the watcher find, after one, which file in
a folder a resumed job came from, so the file still ends in ``processed/`` or ``failed/``, and whether it
was a duplicate. An entry is written when a file is submitted and removed once its outcome is on disk.
It is one small JSON file in the data directory, replaced atomically on every change.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_VERSION = 1


@dataclass
class JournalEntry:
    job_id: str
    transcription_id: str
    # The file as it was submitted; a file changed since is submitted again rather than reconnected.
    size: int
    mtime_ns: int
    duplicate: bool = False
    # The outcome name chosen before writing it, so a crash half-way re-uses it instead of a new "(1)" name.
    writing_as: str | None = None


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._entries: dict[str, JournalEntry] = self._load()

    def _load(self) -> dict[str, JournalEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {path: JournalEntry(**entry) for path, entry in data.get("entries", {}).items()}
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, AttributeError) as exc:
            # Losing the journal loses no data: files still in their folders are submitted again and
            # dedup hands back their jobs; only the duplicate flag of an in-flight copy can be wrong.
            log.warning("watch journal %s is unreadable (%s); starting with an empty one", self.path, exc)
            return {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = {"version": _VERSION, "entries": {path: asdict(entry) for path, entry in self._entries.items()}}
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)

    def items(self) -> list[tuple[Path, JournalEntry]]:
        return [(Path(path), entry) for path, entry in self._entries.items()]

    def get(self, path: Path) -> JournalEntry | None:
        return self._entries.get(str(path))

    def put(self, path: Path, entry: JournalEntry) -> None:
        self._entries[str(path)] = entry
        self._save()

    def move(self, old: Path, new: Path) -> None:
        entry = self._entries.pop(str(old), None)
        if entry is not None:
            self._entries[str(new)] = entry
            self._save()

    def remove(self, path: Path) -> None:
        if self._entries.pop(str(path), None) is not None:
            self._save()
