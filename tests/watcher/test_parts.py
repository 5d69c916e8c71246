"""The watcher's small parts on their own: names, placement, settling, the journal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heard_local.errors import ValidationError
from heard_local.watcher.folder_rules import read_folder_settings
from heard_local.watcher.journal import Journal, JournalEntry
from heard_local.watcher.layout import WatchLayout, is_ignored_name
from heard_local.watcher.outcomes import numbered
from heard_local.watcher.stability import StabilityTracker


@pytest.mark.parametrize("name", [".DS_Store", ".call.wav", "call.wav.part", "call.wav.PART", "x.crdownload",
                                  "x.tmp", ".x.swp", "x.swp", "report.docx~", "~$report.docx", "Thumbs.db",
                                  "folder.toml"])
def test_ignored_names(name: str) -> None:
    assert is_ignored_name(name)


@pytest.mark.parametrize("name", ["call.wav", "call.part.wav", "trñ00.wav", "notes.txt", "README"])
def test_taken_names(name: str) -> None:
    assert not is_ignored_name(name)


def test_placement(tmp_path: Path) -> None:
    layout = WatchLayout(tmp_path)
    assert layout.place(tmp_path / "README.md") is None  # the root itself holds no inputs
    placement = layout.place(tmp_path / "sales" / "batch" / "a.wav")
    assert placement is not None and placement.folder == "sales"
    assert placement.relative == Path("batch/a.wav") and placement.label == "sales/batch/a.wav"
    assert layout.output_dir(placement, "processed") == tmp_path / "sales" / "processed" / "batch"
    assert layout.place(tmp_path / "sales" / "processed" / "a.wav") is None
    assert layout.place(tmp_path / "sales" / "batch" / "failed" / "a.wav") is None
    assert layout.place(tmp_path / ".trash" / "a.wav") is None
    assert layout.place(tmp_path.parent / "elsewhere.wav") is None


def test_input_files_never_list_output_folders(tmp_path: Path) -> None:
    for relative in ("sales/a.wav", "sales/processed/old.wav", "sales/failed/bad.wav", "sales/batch/b.wav",
                     "sales/.hidden/c.wav", "top.wav", "default/d.txt.part"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    layout = WatchLayout(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in layout.input_files()) == [
        "sales/a.wav", "sales/batch/b.wav"]
    assert all("processed" not in d.parts for d in layout.input_dirs())


def test_numbered_names() -> None:
    assert numbered("call.wav", 0) == "call.wav"
    assert numbered("call.wav", 2) == "call (2).wav"
    assert numbered("archive.tar.gz", 1) == "archive.tar (1).gz"
    assert numbered("README", 1) == "README (1)"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_file_settles_only_after_the_window_without_change(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock)
    path = tmp_path / "growing.wav"
    path.write_bytes(b"a" * 10)
    tracker.touch(path)
    assert tracker.ready() == []  # first look
    clock.now += 1.5
    assert tracker.ready() == []
    with open(path, "ab") as handle:  # a new piece arrives: the clock restarts
        handle.write(b"b" * 10)
    clock.now += 1.0
    assert tracker.ready() == []
    clock.now += 1.9
    assert tracker.ready() == []
    tracker.touch(path)  # an event (e.g. closed) restarts it too
    clock.now += 1.9
    assert tracker.ready() == []
    clock.now += 0.2
    assert tracker.ready() == [path]
    assert path not in tracker


def test_empty_files_wait_longer_and_vanished_files_are_dropped(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock)
    empty, gone = tmp_path / "empty.wav", tmp_path / "gone.wav"
    empty.touch()
    gone.write_bytes(b"x")
    tracker.touch(empty)
    tracker.touch(gone)
    tracker.ready()
    os.unlink(gone)
    clock.now += 5
    assert tracker.ready() == []
    assert gone not in tracker and empty in tracker
    clock.now += 6
    assert tracker.ready() == [empty]


def test_journal_survives_reopening_and_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "watcher" / "journal.json"
    journal = Journal(path)
    entry = JournalEntry(job_id="job_1", transcription_id="t1", size=10, mtime_ns=5, duplicate=True)
    journal.put(tmp_path / "a.txt", entry)
    journal.put(tmp_path / "b.txt", JournalEntry(job_id="job_2", transcription_id="t2", size=1, mtime_ns=1))
    journal.move(tmp_path / "b.txt", tmp_path / "c.txt")
    journal.remove(tmp_path / "missing.txt")

    reopened = Journal(path)
    assert reopened.get(tmp_path / "a.txt") == entry
    assert reopened.get(tmp_path / "b.txt") is None
    assert reopened.get(tmp_path / "c.txt").job_id == "job_2"

    path.write_text("{not json", encoding="utf-8")
    assert Journal(path).items() == []


def test_folder_settings_errors_name_the_file(tmp_path: Path) -> None:
    assert read_folder_settings(tmp_path) == {}
    (tmp_path / "folder.toml").write_text('configuration = "sales"\ncolour = "blue"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match=r"unknown key.*colour"):
        read_folder_settings(tmp_path)
    (tmp_path / "folder.toml").write_text('metadata = "x"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="metadata must be a table"):
        read_folder_settings(tmp_path)
    (tmp_path / "folder.toml").write_text("configuration = 3\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="configuration must be"):
        read_folder_settings(tmp_path)
