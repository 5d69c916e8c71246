"""Files dropped into a running watcher the ways users and tools really drop them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from heard_local.engine import Engine
from heard_local.watcher import WatchService
from tests.watcher.conftest import STABLE_SECONDS, OpenWatcher
from tests.watcher.helpers import files_in, transcript, wait_failed, wait_processed, wait_until


def test_transcript_lands_in_processed_with_results(engine: Engine, watcher: WatchService,
                                                    default_folder: Path) -> None:
    (default_folder / "call.txt").write_text(transcript(tag="first"), encoding="utf-8")

    result = wait_processed(default_folder, "call.txt")

    assert not (default_folder / "call.txt").exists()
    stored = engine.transcriptions.get(result["transcription_id"])
    assert result == json.loads(json.dumps(stored.to_api(), default=str))
    assert result["status"] == "COMPLETED"
    assert result["name"] == "call.txt"
    processed = default_folder / "processed"
    text = (processed / "call.txt.txt").read_text(encoding="utf-8")
    assert "Agent: Thanks for calling, this is turn 0 first" in text
    assert "Customer: I have a question about invoice 1002 first" in text
    srt = (processed / "call.txt.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert "Customer: I have a question about invoice" in srt
    assert engine.transcriptions.list().total == 1
    assert not (default_folder / "failed").exists()


def test_slow_writer_is_taken_only_when_complete(open_watcher: OpenWatcher, default_folder: Path) -> None:
    engine, _ = open_watcher(watch_stable_seconds=1.0)
    lines = transcript(turns=10, tag="slow").splitlines(keepends=True)
    target = default_folder / "slow.txt"

    # 20 pieces over ~2 s, in 4 sessions that each open, append and close the file (as copy tools do).
    for session in range(4):
        with open(target, "a", encoding="utf-8") as handle:
            for line in lines[session * 5:(session + 1) * 5]:
                handle.write(line)
                handle.flush()
                time.sleep(0.1)

    result = wait_processed(default_folder, "slow.txt")
    segments = engine.transcriptions.get(result["transcription_id"]).details.conversation.segments
    assert len(segments) == len(lines)
    assert segments[-1].text == "I have a question about invoice 1009 slow"
    assert engine.transcriptions.list().total == 1


@pytest.mark.parametrize("polling", [False, True])
def test_part_file_is_ignored_until_renamed(engine: Engine, watcher: WatchService, default_folder: Path) -> None:
    part = default_folder / "download.txt.part"
    part.write_text(transcript(tag="part"), encoding="utf-8")
    time.sleep(STABLE_SECONDS * 4)
    assert part.exists()
    assert engine.transcriptions.list().total == 0

    part.rename(default_folder / "download.txt")

    result = wait_processed(default_folder, "download.txt")
    assert result["name"] == "download.txt"
    assert files_in(default_folder / "processed") == [
        "download.txt", "download.txt.json", "download.txt.srt", "download.txt.txt"]


@pytest.mark.parametrize("polling", [False, True])
def test_file_moved_in_from_outside(engine: Engine, watcher: WatchService, default_folder: Path,
                                    outside: Path) -> None:
    source = outside / "moved.txt"
    source.write_text(transcript(tag="moved"), encoding="utf-8")
    os.replace(source, default_folder / "moved.txt")

    result = wait_processed(default_folder, "moved.txt")
    assert "moved" in (default_folder / "processed" / "moved.txt.txt").read_text(encoding="utf-8")
    assert result["transcription_id"]


@pytest.mark.parametrize("polling", [False, True])
def test_directory_dropped_in(engine: Engine, watcher: WatchService, default_folder: Path, outside: Path) -> None:
    batch = outside / "batch"
    (batch / "nested").mkdir(parents=True)
    (batch / "a.txt").write_text(transcript(tag="a"), encoding="utf-8")
    (batch / "nested" / "b.txt").write_text(transcript(tag="b"), encoding="utf-8")
    (batch / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")

    os.rename(batch, default_folder / "batch")

    wait_processed(default_folder, "batch/a.txt")
    wait_processed(default_folder, "batch/nested/b.txt")
    assert engine.transcriptions.list().total == 2
    # The dropped directory keeps only what the watcher does not take.
    assert files_in(default_folder / "batch") == [".DS_Store"]


def test_duplicate_is_processed_once_and_reported(engine: Engine, watcher: WatchService,
                                                  default_folder: Path) -> None:
    text = transcript(tag="dup")
    (default_folder / "first.txt").write_text(text, encoding="utf-8")
    first = wait_processed(default_folder, "first.txt")
    (default_folder / "second.txt").write_text(text, encoding="utf-8")

    second = wait_processed(default_folder, "second.txt")

    assert second["transcription_id"] == first["transcription_id"]
    assert engine.transcriptions.list().total == 1
    report = json.loads((default_folder / "processed" / "second.txt.duplicate.json").read_text(encoding="utf-8"))
    assert report["duplicate"] is True
    assert report["duplicate_of"] == {"transcription_id": first["transcription_id"], "name": "first.txt"}
    assert not (default_folder / "processed" / "first.txt.duplicate.json").exists()


def test_same_name_again_never_overwrites(engine: Engine, watcher: WatchService, default_folder: Path) -> None:
    (default_folder / "call.txt").write_text(transcript(tag="monday"), encoding="utf-8")
    monday = wait_processed(default_folder, "call.txt")
    (default_folder / "call.txt").write_text(transcript(tag="tuesday"), encoding="utf-8")

    tuesday = wait_processed(default_folder, "call (1).txt")

    assert tuesday["transcription_id"] != monday["transcription_id"]
    processed = default_folder / "processed"
    assert "monday" in (processed / "call.txt").read_text(encoding="utf-8")
    assert "tuesday" in (processed / "call (1).txt").read_text(encoding="utf-8")
    assert json.loads((processed / "call.txt.json").read_text())["transcription_id"] == monday["transcription_id"]


def test_non_ascii_names_and_utf16_text(engine: Engine, watcher: WatchService, default_folder: Path) -> None:
    (default_folder / "Überweisung señor 電話.txt").write_text(transcript(tag="ñandú"), encoding="utf-8")
    (default_folder / "notepad.txt").write_text(transcript(tag="utf16"), encoding="utf-16")

    result = wait_processed(default_folder, "Überweisung señor 電話.txt")
    wait_processed(default_folder, "notepad.txt")

    assert result["name"] == "Überweisung señor 電話.txt"
    assert "ñandú" in (default_folder / "processed" / "Überweisung señor 電話.txt.txt").read_text(encoding="utf-8")
    assert "utf16" in (default_folder / "processed" / "notepad.txt.txt").read_text(encoding="utf-8")


def test_junk_goes_to_failed_with_the_reason(engine: Engine, watcher: WatchService, default_folder: Path) -> None:
    # Printable bytes only: random bytes can contain an MP3 frame sync and pass for (corrupt) audio.
    (default_folder / "random.wav").write_bytes(bytes(range(0x20, 0x7F)) * 40)
    (default_folder / "latin1.txt").write_bytes("Agent: caf\xe9 cr\xe8me\n".encode("latin-1"))
    (default_folder / "report.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(0x20, 0x7F)) * 5)

    random_wav = wait_failed(default_folder, "random.wav")
    latin1 = wait_failed(default_folder, "latin1.txt")
    pdf = wait_failed(default_folder, "report.pdf")

    assert random_wav["error"]["code"] == "UNSUPPORTED_FORMAT"
    assert "neither audio" in random_wav["error"]["message"]
    assert random_wav["file"] == "default/random.wav"
    assert "move the file back" in random_wav["what_to_do"]
    assert pdf["error"]["code"] == "UNSUPPORTED_FORMAT"
    assert latin1["error"]["code"] == "VALIDATION_ERROR"
    assert "UTF-8" in latin1["error"]["message"]
    assert engine.transcriptions.list().total == 0


def test_ignored_names_and_places_are_left_alone(engine: Engine, watcher: WatchService,
                                                 default_folder: Path) -> None:
    root = default_folder.parent
    ignored = [default_folder / name for name in (
        ".hidden.txt", "movie.mp4.crdownload", "draft.txt.tmp", ".notes.txt.swp", "copy.txt.part", "~$notes.txt",
        "folder.toml")]
    (default_folder / "processed").mkdir()
    ignored += [root / "README.txt", default_folder / "processed" / "put-here-by-hand.txt",
                default_folder / ".cache" / "inside-hidden-dir.txt"]
    for path in ignored:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(transcript(tag=path.name), encoding="utf-8")
    (default_folder / "folder.toml").write_text("", encoding="utf-8")
    (default_folder / "taken.txt").write_text(transcript(tag="taken"), encoding="utf-8")

    wait_processed(default_folder, "taken.txt")
    time.sleep(STABLE_SECONDS * 3)

    assert all(path.exists() for path in ignored)
    assert engine.transcriptions.list().total == 1
    assert not (default_folder / "failed").exists()


def test_a_file_dropped_into_the_root_is_left_there_with_a_hint(engine: Engine, watcher: WatchService,
                                                                default_folder: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="heard_local.watcher")
    (default_folder.parent / "README.md").write_text("# notes\n", encoding="utf-8")
    stray = default_folder.parent / "call.txt"
    stray.write_text(transcript(tag="stray"), encoding="utf-8")

    wait_until(lambda: "call.txt is directly in" in caplog.text, what="the hint")
    time.sleep(STABLE_SECONDS * 2)

    assert stray.exists()
    assert "README" not in caplog.text
    assert "move it into a folder, e.g. default/" in caplog.text
    assert engine.transcriptions.list().total == 0


def test_file_deleted_before_it_settles_is_forgotten(engine: Engine, watcher: WatchService,
                                                     default_folder: Path) -> None:
    doomed = default_folder / "doomed.txt"
    doomed.write_text(transcript(tag="doomed"), encoding="utf-8")
    doomed.unlink()
    (default_folder / "kept.txt").write_text(transcript(tag="kept"), encoding="utf-8")

    wait_processed(default_folder, "kept.txt")
    time.sleep(STABLE_SECONDS * 2)

    assert engine.transcriptions.list().total == 1
    assert files_in(default_folder / "processed") == ["kept.txt", "kept.txt.json", "kept.txt.srt", "kept.txt.txt"]
    assert not (default_folder / "failed").exists()
    wait_until(lambda: watcher.status()["processing"] == 0 and watcher.status()["settling"] == 0,
               what="an idle watcher")
