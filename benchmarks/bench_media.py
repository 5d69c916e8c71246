"""What decoding in a helper process costs per file (issue 15): in-process PyAV decoding against the
sandbox (a warm helper: request over a pipe, samples through a mapped file), for a 10 s and a 10 min
stereo 44.1 kHz recording (resampled to 16 kHz, like most uploads), plus a helper's start and a probe.

    python -m benchmarks media [--quick]

Wall time is the median of several runs; "parent CPU" is this process's CPU time only (the helper's is
the decoding itself, which moved there).
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.result import Result
from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.media_sandbox import MediaSandbox, memory_limit_for

NAME = "media"


def _recording(directory: Path, seconds: int) -> Path:
    path = directory / f"call-{seconds}s.flac"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(path), "synth", str(seconds), "pinknoise"],
                   check=True)
    return path


def _median(action: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def run(quick: bool = False) -> list[Result]:
    runs = 3 if quick else 7
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sandbox = MediaSandbox(directory / "scratch", max_seconds=4 * 3600.0, max_channels=8,
                               memory_limit=memory_limit_for(4 * 3600.0, 8), helpers=1)
        try:
            started = time.perf_counter()
            sandbox.probe(_recording(directory, 1))  # starts the helper
            results.append(Result(NAME, "helper start + first probe", (time.perf_counter() - started) * 1000, "ms"))
            for seconds in (10, 600):
                path = _recording(directory, seconds)
                sandbox.decode(path)  # warm the page cache
                inside, inside_cpu = _median(lambda p=path: decode_audio(p), runs)  # type: ignore[misc]
                helper, helper_cpu = _median(lambda p=path: sandbox.decode(p), runs)  # type: ignore[misc]
                label = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
                results.append(Result(NAME, f"decode {label} stereo, in process", inside * 1000, "ms"))
                results.append(Result(NAME, f"decode {label} stereo, helper process", helper * 1000, "ms",
                                      note=f"overhead {(helper - inside) * 1000:+.0f} ms; parent CPU "
                                           f"{helper_cpu * 1000:.0f} ms vs {inside_cpu * 1000:.0f} ms"))
            probe, _ = _median(lambda: sandbox.probe(path), runs)
            results.append(Result(NAME, "probe (warm helper)", probe * 1000, "ms"))
        finally:
            sandbox.close()
    return results
