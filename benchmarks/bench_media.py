"""What decoding in a helper process costs per file (issue 15): in-process PyAV decoding against the
sandbox (a warm helper: request over a pipe, samples through a mapped file), for a 10 s and a 10 min
stereo 44.1 kHz recording (resampled to 16 kHz, like most uploads), plus a helper's start and a probe.

    python -m benchmarks media [--quick]

Medians of several runs; CPU time counts this process and the helper together (it does not depend on
what else the machine is doing, unlike the wall time also shown).
"""

from __future__ import annotations

import os
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


def _cpu_seconds(pid: int | None) -> float:
    """CPU time of this process, plus that of process ``pid`` (the helper)."""
    total = time.process_time()
    if pid is not None:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _median(action: Callable[[], object], runs: int, helper: int | None = None) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process and the helper) over ``runs``. CPU time
    does not depend on what else the machine runs; wall time does."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), _cpu_seconds(helper)
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu_seconds(helper) - cpu)
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
            [helper_pid] = sandbox.helper_pids()
            for seconds in (10, 600):
                path = _recording(directory, seconds)
                sandbox.decode(path)  # warm the page cache
                # Each reads every sample once, as the pipeline does (a mapped file is read in lazily).
                inside, inside_cpu = _median(lambda p=path: decode_audio(p).samples.sum(), runs)  # type: ignore[misc]
                helper, helper_cpu = _median(lambda p=path: sandbox.decode(p).samples.sum(), runs,  # type: ignore[misc]
                                             helper_pid)
                label = f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
                results.append(Result(NAME, f"decode {label} stereo, in process", inside_cpu * 1000, "ms CPU",
                                      note=f"wall {inside * 1000:.0f} ms"))
                results.append(Result(NAME, f"decode {label} stereo, helper process", helper_cpu * 1000, "ms CPU",
                                      note=f"overhead {(helper_cpu - inside_cpu) * 1000:+.0f} ms CPU; wall "
                                           f"{helper * 1000:.0f} ms"))
            probe, _ = _median(lambda: sandbox.probe(path), runs)
            results.append(Result(NAME, "probe (warm helper)", probe * 1000, "ms"))
        finally:
            sandbox.close()
    return results
