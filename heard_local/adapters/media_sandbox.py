"""Probing and decoding untrusted media in helper processes, so that a decoder crash (a segfault, an
allocation without bound) fails one file, never the server.

Each helper is ``python -m heard_local.adapters.media_worker`` with a capped address space, started with
fork+exec (subprocess): nothing of this process — its torch or CTranslate2 threads — runs in the child.
Helpers live on between files (a start costs ~0.3 s; a warm call a few ms), one call at a time each; one
that dies or stops answering is replaced. The decoded samples come back through a file in
``scratch_dir`` that this process maps copy-on-write (never copied through a pipe) and unlinks at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import IO, Any

import numpy as np

from heard_local.adapters.audio_decode import AudioHeader
from heard_local.errors import HeardError, ValidationError, error_from_code
from heard_local.pipeline.protocols import SAMPLE_RATE, Waveform

log = logging.getLogger(__name__)

_START_SECONDS = 60.0
_PROBE_SECONDS = 60.0
_SCRATCH_PREFIX = "decoded-"
# Beyond the decoded samples themselves: the interpreter, numpy, FFmpeg and their threads.
_BASE_MEMORY = 2 << 30


def memory_limit_for(max_seconds: float, max_channels: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Address space a helper needs for the longest, widest recording accepted: its samples twice (a
    buffer that grows, or a copy of a shortened one) and a base."""
    return int(2 * max_seconds * max_channels * sample_rate * 4) + _BASE_MEMORY


class MediaSandbox:
    """:class:`heard_local.pipeline.protocols.AudioDecoder` (and a header probe) in helper processes."""

    def __init__(self, scratch_dir: Path, *, max_seconds: float | None, max_channels: int | None,
                 memory_limit: int, helpers: int = 2):
        self.scratch_dir = scratch_dir
        self.max_seconds = max_seconds
        self.max_channels = max_channels
        self.memory_limit = memory_limit
        self.decode_timeout = 120.0 + (max_seconds or 4 * 3600.0) / 10  # decoding runs ~100x real time at worst
        self._slots = threading.BoundedSemaphore(helpers)
        self._idle: list[_Helper] = []
        self._lock = threading.Lock()
        self._closed = False
        scratch_dir.mkdir(parents=True, exist_ok=True)
        for stale in scratch_dir.glob(f"{_SCRATCH_PREFIX}*"):  # left by a process that died mid-decode
            stale.unlink(missing_ok=True)

    def probe(self, path: Path) -> AudioHeader:
        reply = self._call({"op": "probe", "path": str(path)}, _PROBE_SECONDS, path)
        return AudioHeader(seconds=reply["seconds"], channels=reply["channels"])

    def decode(self, path: Path, *, sample_rate: int = SAMPLE_RATE) -> Waveform:
        out = self.scratch_dir / f"{_SCRATCH_PREFIX}{uuid.uuid4().hex}.f32"
        try:
            reply = self._call({"op": "decode", "path": str(path), "out": str(out), "sample_rate": sample_rate,
                                "max_seconds": self.max_seconds, "max_channels": self.max_channels},
                               self.decode_timeout, path)
            samples = np.memmap(out, dtype=np.float32, mode="c", shape=(reply["channels"], reply["samples"]))
        finally:
            out.unlink(missing_ok=True)  # a mapping outlives its name
        return Waveform(samples=samples, sample_rate=reply["sample_rate"], source_format=reply["source_format"],
                        notes=tuple(reply["notes"]))

    def helper_pids(self) -> list[int]:
        """Process ids of the helpers waiting for work (for status and tests)."""
        with self._lock:
            return [helper.process.pid for helper in self._idle]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for helper in idle:
            helper.stop()

    def _call(self, request: dict[str, Any], timeout: float, path: Path) -> dict[str, Any]:
        with self._slots:
            helper = self._take()
            try:
                reply = helper.call(request, timeout)
            except _HelperDied as died:
                helper.stop()
                raise ValidationError(
                    f"The media decoder {died.how} on {path.name}; the file is probably damaged or crafted. "
                    "heard-local itself is unaffected. Convert the file (e.g. `ffmpeg -i IN OUT.wav`) and try "
                    "again.", field="audio_file") from None
            except BaseException:
                helper.stop()
                raise
            self._give_back(helper)
        if "error" in reply:
            error = reply["error"]
            raise error_from_code(error.get("code", "INTERNAL_ERROR"), error.get("message", "Decoding failed"),
                                  error.get("details") or {})
        return reply

    def _take(self) -> _Helper:
        with self._lock:
            if self._closed:
                raise HeardError("heard-local is shutting down; retry once it has restarted.")
            if self._idle:
                return self._idle.pop()
        return _Helper.start(self.memory_limit)

    def _give_back(self, helper: _Helper) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(helper)
                return
        helper.stop()


class _HelperDied(Exception):
    def __init__(self, how: str):
        super().__init__(how)
        self.how = how


class _Helper:
    def __init__(self, process: subprocess.Popen[str]):
        self.process = process

    @classmethod
    def start(cls, memory_limit: int) -> _Helper:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}
        process = subprocess.Popen(
            [sys.executable, "-m", "heard_local.adapters.media_worker", "--memory-limit", str(memory_limit)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, close_fds=True,
        )
        helper = cls(process)
        try:
            helper._read(_START_SECONDS)  # {"ready": true}: av and numpy are loaded
        except _HelperDied as died:
            helper.stop()
            raise HeardError(f"The media decoder could not start ({died.how}); if HEARD_MEDIA_MEMORY_LIMIT_MB is "
                             "set, raise it.") from None
        return helper

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _HelperDied(self._death()) from None
        return self._read(timeout)

    def _read(self, timeout: float) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            raise _HelperDied(f"stopped answering (nothing for {timeout:.0f} s)")
        line = stdout.readline()
        if not line:
            raise _HelperDied(self._death())
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if -code in (signal.SIGKILL, signal.SIGABRT) else ""
            return f"crashed ({name}{hint})"
        return f"exited with status {code}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("media helper %d did not stop", self.process.pid)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
