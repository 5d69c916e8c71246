"""A decoder whose worker process dies the first time it meets one file, for the batch job's crash test.

The process exits at once (``os._exit``), as one killed by the kernel's out-of-memory killer would: no
exception to catch, the Ray actor is gone. The flag file makes it happen once across processes (the
restarted actor finds it and decodes normally)."""

from __future__ import annotations

import os
from pathlib import Path

from heard_local.adapters.audio_decode import PyAvDecoder
from heard_local.pipeline.protocols import Waveform


class DieOnceDecoder:
    def __init__(self, file_name: str, flag: Path):
        self.file_name = file_name
        self.flag = flag

    def decode(self, path: Path) -> Waveform:
        if path.name == self.file_name:
            try:
                os.close(os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass  # died here once already
            else:
                os._exit(1)
        return PyAvDecoder().decode(path)
