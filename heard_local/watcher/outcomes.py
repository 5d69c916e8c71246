"""Writing a file's outcome next to it, without ever overwriting anything.

    processed/<name>                  the file itself, moved with os.replace
    processed/<name>.json             the Transcription object (the API's shape)
    processed/<name>.txt              speaker-labelled transcript
    processed/<name>.srt              subtitles
    processed/<name>.duplicate.json   only for a copy of content already submitted: which transcription
    failed/<name>                     the file itself
    failed/<name>.error.json          why, in the API's error envelope, and what to do next

When ``<name>`` or one of its companions is taken, ``<stem> (1)<suffix>``, ``(2)``… is used instead.
Companions are written under a hidden temporary name and renamed into place, so a reader never sees half
a file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from heard_local.domain import Transcription
from heard_local.domain.clock import utcnow
from heard_local.exports.transcript_formats import to_json, to_srt, to_txt
from heard_local.watcher.layout import FAILED, PROCESSED, Placement, WatchLayout

log = logging.getLogger(__name__)

RESULT_SUFFIXES = (".json", ".txt", ".srt")
DUPLICATE_SUFFIX = ".duplicate.json"
ERROR_SUFFIX = ".error.json"
_COMPANIONS = {PROCESSED: (*RESULT_SUFFIXES, DUPLICATE_SUFFIX), FAILED: (ERROR_SUFFIX,)}


def numbered(name: str, number: int) -> str:
    """``call.wav`` -> ``call (2).wav``; names without a suffix get the number at the end."""
    if number == 0:
        return name
    path = Path(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    return f"{stem} ({number}){suffix}"


class OutcomeWriter:
    def __init__(self, layout: WatchLayout):
        self.layout = layout

    def free_name(self, placement: Placement, outcome: str) -> str:
        """A name under which neither the file nor any of its companions exists yet in ``outcome``/."""
        directory = self.layout.output_dir(placement, outcome)
        number = 0
        while True:
            name = numbered(placement.relative.name, number)
            taken = [name, *(name + suffix for suffix in _COMPANIONS[outcome])]
            if not any(os.path.lexists(directory / candidate) for candidate in taken):
                return name
            number += 1

    def processed(self, source: Path, placement: Placement, name: str, transcription: Transcription, *,
                  duplicate: bool) -> Path:
        directory = self.layout.output_dir(placement, PROCESSED)
        directory.mkdir(parents=True, exist_ok=True)
        _write(directory / (name + ".json"), to_json(transcription))
        _write(directory / (name + ".txt"), to_txt(transcription))
        _write(directory / (name + ".srt"), to_srt(transcription))
        if duplicate:
            _write(directory / (name + DUPLICATE_SUFFIX), _dump({
                "duplicate": True,
                "file": placement.label,
                "message": "The same content was already submitted with this configuration, so it was not "
                           "processed again; the results beside this file are that earlier transcription's.",
                "duplicate_of": {"transcription_id": transcription.transcription_id,
                                 "name": transcription.name},
                "reported_at": utcnow().isoformat(),
            }))
        return self._move_in(source, placement, directory / name)

    def failed(self, source: Path, placement: Placement, name: str, error: dict[str, Any],
               context: dict[str, Any]) -> Path:
        directory = self.layout.output_dir(placement, FAILED)
        directory.mkdir(parents=True, exist_ok=True)
        _write(directory / (name + ERROR_SUFFIX), _dump({
            "error": error,
            "file": placement.label,
            **context,
            "failed_at": utcnow().isoformat(),
            "what_to_do": "Fix the cause named above, then move the file back into its folder to try again.",
        }))
        return self._move_in(source, placement, directory / name)

    def _move_in(self, source: Path, placement: Placement, target: Path) -> Path:
        try:
            os.replace(source, target)
        except FileNotFoundError:
            log.warning("watch: %s disappeared before it could be moved to %s", placement.label, target.parent)
            return target
        except OSError:  # another filesystem mounted inside the folder: copy, then remove
            shutil.move(source, target)
        self._remove_emptied_dirs(source, placement)
        return target

    def _remove_emptied_dirs(self, source: Path, placement: Placement) -> None:
        """A directory dropped into a folder is removed once its last file is taken (rmdir only ever
        removes empty directories, so nothing a user put there can go)."""
        folder_dir = self.layout.folder_dir(placement.folder)
        for parent in source.parents:
            if parent == folder_dir or folder_dir not in parent.parents:
                return
            try:
                parent.rmdir()
            except OSError:
                return


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
