"""What a neighbour can put into a shared watch folder: symbolic links (to ``~/.ssh/id_rsa``, to a
directory, to nothing) land in ``failed/`` with a reason and are never read; a file whose name is not
valid UTF-8 lands in ``failed/`` too, instead of being retried for ever, and the watcher goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from heard_local.engine import Engine
from heard_local.watcher import WatchService
from tests.watcher.helpers import files_in, transcript, wait_failed, wait_processed, wait_until

SECRET = "Agent: -----BEGIN OPENSSH PRIVATE KEY-----\nCustomer: b3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n"


@pytest.mark.parametrize("polling", [False, True])
def test_links_land_in_failed_unread(engine: Engine, watcher: WatchService, default_folder: Path,
                                     outside: Path) -> None:
    secret = outside / "id_rsa"
    secret.write_text(SECRET, encoding="utf-8")
    (outside / "dir").mkdir()
    links = {"id_rsa.txt": secret, "recording.wav": secret, "folder.txt": outside / "dir",
             "dangling.txt": outside / "nothing-here"}
    for name, target in links.items():
        (default_folder / name).symlink_to(target)

    for name, target in links.items():
        report = wait_failed(default_folder, name)
        assert report["error"]["code"] == "VALIDATION_ERROR"
        assert "symbolic link" in report["error"]["message"]
        assert report["file"] == f"default/{name}"
        moved = default_folder / "failed" / name
        assert moved.is_symlink() and os.readlink(moved) == str(target)  # the link moved, its target did not
    assert secret.read_text(encoding="utf-8") == SECRET
    assert files_in(default_folder / "processed") == []
    assert engine.transcriptions.list().total == 0  # nothing was read through a link


def test_a_link_in_a_dropped_directory_is_refused_too(engine: Engine, watcher: WatchService, default_folder: Path,
                                                      outside: Path) -> None:
    secret = outside / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    batch = outside / "batch"
    batch.mkdir()
    (batch / "real.txt").write_text(transcript(tag="real"), encoding="utf-8")
    (batch / "link.txt").symlink_to(secret)
    os.rename(batch, default_folder / "batch")  # a directory moved in at once

    wait_processed(default_folder, "batch/real.txt")
    report = wait_failed(default_folder, "batch/link.txt")
    assert "symbolic link" in report["error"]["message"]
    assert engine.transcriptions.list().total == 1


def test_a_file_name_that_is_not_utf8_lands_in_failed_and_watching_goes_on(engine: Engine, watcher: WatchService,
                                                                         default_folder: Path) -> None:
    raw_name = b"caf\xe9 call.txt"  # Latin-1, as an old Windows share writes it
    with open(os.path.join(os.fsencode(default_folder), raw_name), "w", encoding="utf-8") as handle:
        handle.write(transcript(tag="latin1"))
    name = os.fsdecode(raw_name)

    report = wait_failed(default_folder, name)
    assert report["error"]["code"] == "VALIDATION_ERROR"
    assert "not valid UTF-8" in report["error"]["message"]
    assert report["file"] == "default/caf\\xe9 call.txt"  # the report itself is valid UTF-8 JSON
    assert sorted(os.listdir(os.fsencode(default_folder / "failed"))) == [raw_name, raw_name + b".error.json"]
    assert engine.transcriptions.list().total == 0

    (default_folder / "next.txt").write_text(transcript(tag="next"), encoding="utf-8")
    wait_processed(default_folder, "next.txt")

    def counts() -> tuple[int, int]:
        folder = next(f for f in watcher.status()["folders"] if f["name"] == "default")
        return folder.get("failed", 0), folder.get("processed", 0)

    wait_until(lambda: counts()[1] == 1, what="the processed count")  # noted just after the files appear
    assert counts() == (1, 1)
