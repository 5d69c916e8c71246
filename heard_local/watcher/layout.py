"""Where things are in a watch root, and which files are inputs.

    <root>/                     files directly here are ignored (the README lives here)
      <folder>/                 one per configuration (by tag, or named in folder.toml)
        folder.toml             optional: configuration and metadata defaults
        call.wav                an input
        batch/more.wav          inputs in a dropped directory count too
        processed/              outcomes: never scanned, never watched
        failed/
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROCESSED = "processed"
FAILED = "failed"
OUTPUT_DIRS = frozenset({PROCESSED, FAILED})
FOLDER_SETTINGS_FILE = "folder.toml"

# Files that are still being written by a browser, editor or copy tool, or that an OS leaves around.
_PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp", ".swx", "~")
_OS_LITTER = frozenset({"thumbs.db", "desktop.ini", "icon\r"})


def printable(text: str) -> str:
    """``text`` with the undecodable bytes of a file name shown as ``\\xe9`` (safe to write as UTF-8)."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def is_ignored_name(name: str) -> bool:
    """True for names the watcher never takes: dotfiles, partial downloads/copies, editor swap files,
    OS litter and the folder settings file."""
    lowered = name.lower()
    return (
        name.startswith((".", "~$"))
        or lowered.endswith(_PARTIAL_SUFFIXES)
        or lowered in _OS_LITTER
        or lowered == FOLDER_SETTINGS_FILE
    )


def is_ignored_dir(name: str) -> bool:
    return name.startswith(".") or name.lower() in OUTPUT_DIRS


@dataclass(frozen=True)
class Placement:
    """Where an input file sits: its top-level folder and its path inside that folder."""

    folder: str  # the top-level folder's name (maps to a configuration)
    relative: Path  # path inside the folder, e.g. Path("batch/more.wav")

    @property
    def label(self) -> str:
        """``folder/sub/name`` for logs and reports (valid UTF-8 even when the name is not)."""
        return printable(f"{self.folder}/{self.relative.as_posix()}")


class WatchLayout:
    def __init__(self, root: Path):
        self.root = root.expanduser().resolve()

    def folder_dir(self, folder: str) -> Path:
        return self.root / folder

    def output_dir(self, placement: Placement, outcome: str) -> Path:
        """``processed/`` or ``failed/`` of the top-level folder, mirroring any subdirectory."""
        return self.folder_dir(placement.folder) / outcome / placement.relative.parent

    def place(self, path: Path) -> Placement | None:
        """The placement of an input file, or None when the path is not one the watcher takes (outside the
        root, directly in the root, ignored by name, or inside an output or hidden directory)."""
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return None
        if len(parts) < 2 or is_ignored_name(parts[-1]):
            return None
        if any(is_ignored_dir(part) for part in parts[:-1]):
            return None
        return Placement(folder=parts[0], relative=Path(*parts[1:]))

    def is_watched_dir(self, path: Path) -> bool:
        """The root, a folder, or a directory dropped inside one (not output or hidden directories)."""
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return False
        return not any(is_ignored_dir(part) for part in parts)

    def is_stray(self, path: Path) -> bool:
        """A file dropped directly into the root (where nothing is taken) that is not ours or litter."""
        return (path.parent == self.root and not is_ignored_name(path.name)
                and not path.name.lower().startswith("readme") and path.is_file())

    def folders(self) -> list[Path]:
        try:
            return sorted(entry for entry in self.root.iterdir() if entry.is_dir() and not is_ignored_dir(entry.name))
        except FileNotFoundError:
            return []

    def input_dirs(self, top: Path | None = None) -> Iterator[Path]:
        """Every directory under ``top`` (default: the root) that may hold inputs, ``top`` included.
        Output directories are pruned, so their contents are never listed."""
        start = top or self.root
        if start != self.root and start.is_symlink():
            return  # a linked directory is never entered (os.walk would follow its top)
        for current, dirs, _files in os.walk(start):
            dirs[:] = sorted(d for d in dirs if not is_ignored_dir(d))
            yield Path(current)

    def input_files(self, top: Path | None = None) -> Iterator[Path]:
        """Every file the watcher would take under ``top`` (default: the whole root)."""
        for directory in self.input_dirs(top):
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        # Links too (whatever they point at), so that they are refused into failed/.
                        if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                            path = Path(entry.path)
                            if self.place(path) is not None:
                                yield path
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
