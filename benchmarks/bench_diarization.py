"""Fast diarizer vs stock pyannote on a random-weight pipeline of community-1's architecture, and the
built-in diarizer (real weights) against the fast path's wall time.

PyanNet segmentation + WeSpeaker ResNet34 embeddings + VBx clustering, built by
``tests.support.tiny_pyannote`` (compute cost does not depend on the weights' values). Audio: real AMI
meeting excerpts from ../shared/data (espeak-ng speech where absent), concatenated to 30 s, 5 min and
30 min (30 min only in full mode: stock pyannote takes about an hour on 2 cores there). ``num_speakers=4``
is forced so VBx + k-means has real work to do whatever the random embeddings look like.

Each run is a fresh process on 2 torch threads, so peak RSS is that run's own. Both processes load the
pipeline and diarize 12 s once before the timed run (pyannote computes some things lazily); the fast
path's one-time build (ONNX export / tracing and the check against eager, per loaded pipeline) happens
in that first call, reported on its own row.

    python -m benchmarks diarization [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.result import Result

REPO = Path(__file__).resolve().parent.parent
AMI = REPO.parent / "shared" / "data" / "pyannote-audio" / "tests-data"
SAMPLE_RATE = 16_000
THREADS = 2
NUM_SPEAKERS = 4
MAX_DER = 0.005
MIN_SPEEDUP = 3.0


def run(quick: bool) -> list[Result]:
    durations = [30.0, 300.0] if quick else [30.0, 300.0, 1800.0]
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-diarization-") as scratch:
        work = Path(scratch)
        from tests.support.tiny_pyannote import build_tiny_pyannote_pipeline

        pipeline_dir = build_tiny_pyannote_pipeline(work / "community1-architecture", embedding="wespeaker", seed=0)
        audio_path = _write_audio(work / "audio.npy", max(durations))
        for seconds in durations:
            stock = _measure("stock", seconds, pipeline_dir, audio_path, work)
            fast = _measure("fast", seconds, pipeline_dir, audio_path, work)
            results.extend(_rows(seconds, stock, fast))
            builtin = _measure("builtin", seconds, pipeline_dir, audio_path, work)
            results.extend(_builtin_rows(seconds, fast, builtin))
        results.append(Result("diarization", "stock: first call, 12 s", stock["first_call_s"], "s",
                              note="after loading the pipeline"))
        results.append(Result("diarization", "fast: first call, 12 s", fast["first_call_s"], "s",
                              note=f"includes the one-time build; {fast['path']}"))
    return results


def _rows(seconds: float, stock: dict[str, Any], fast: dict[str, Any]) -> list[Result]:
    label = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
    speedup = stock["wall_s"] / fast["wall_s"]
    der = _der(stock["turns"], fast["turns"])
    return [
        Result("diarization", f"{label}: stock wall", stock["wall_s"], "s", note=_real_time(stock, seconds)),
        Result("diarization", f"{label}: fast wall", fast["wall_s"], "s", note=_real_time(fast, seconds)),
        Result("diarization", f"{label}: speedup (wall)", speedup, "x", f">= {MIN_SPEEDUP:g}x", speedup >= MIN_SPEEDUP),
        Result("diarization", f"{label}: stock CPU", stock["cpu_s"], "s"),
        Result("diarization", f"{label}: fast CPU", fast["cpu_s"], "s",
               note=f"{stock['cpu_s'] / fast['cpu_s']:.1f}x less"),
        Result("diarization", f"{label}: stock peak RSS", stock["peak_rss_mb"], "MiB"),
        Result("diarization", f"{label}: fast peak RSS", fast["peak_rss_mb"], "MiB"),
        Result("diarization", f"{label}: DER(stock, fast)", 100 * der, "%", f"<= {100 * MAX_DER:g}%", der <= MAX_DER,
               note=f"{len(stock['turns'])} stock turns, {len({t[2] for t in stock['turns']})} speakers"),
    ]


def _builtin_rows(seconds: float, fast: dict[str, Any], builtin: dict[str, Any]) -> list[Result]:
    """The built-in diarizer (segmentation-3.0 + CAM++, real weights) against issue 14's speed target: at most
    the community-1 fast path's wall time for the same audio."""
    label = f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
    return [
        Result("diarization", f"{label}: builtin wall", builtin["wall_s"], "s",
               f"<= fast {fast['wall_s']:.1f} s", builtin["wall_s"] <= fast["wall_s"],
               note=_real_time(builtin, seconds)),
        Result("diarization", f"{label}: builtin CPU", builtin["cpu_s"], "s"),
        Result("diarization", f"{label}: builtin peak RSS", builtin["peak_rss_mb"], "MiB",
               note=f"{len({t[2] for t in builtin['turns']})} speakers"),
    ]


def _real_time(measured: dict[str, Any], seconds: float) -> str:
    return f"{measured['wall_s'] / seconds:.2f} x real time"


def _der(reference_turns: list[list[Any]], hypothesis_turns: list[list[Any]]) -> float:
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: list[list[Any]]) -> Annotation:
        result = Annotation()
        for index, (start, end, label) in enumerate(turns):
            result[Segment(start, end), index] = label
        return result

    reference, hypothesis = annotation(reference_turns), annotation(hypothesis_turns)
    if len(reference) == 0:
        return 0.0 if len(hypothesis) == 0 else 1.0
    return float(DiarizationErrorRate()(reference, hypothesis))


def _write_audio(path: Path, seconds: float) -> Path:
    import numpy as np

    pieces: list[np.ndarray] = []
    if AMI.is_dir():
        from tests.diarization.recordings import read_wav

        pieces = [read_wav(f)[0] for f in sorted(AMI.glob("*.wav")) if f.name != "empty.wav"]
    else:
        from tests.diarization.recordings import SCRIPT_THREE_SPEAKERS, conversation

        pieces = [conversation(SCRIPT_THREE_SPEAKERS)]
    needed = int(seconds * SAMPLE_RATE)
    one_pass = np.concatenate(pieces)
    audio = np.tile(one_pass, needed // len(one_pass) + 1)[:needed].astype(np.float32)
    np.save(path, audio)
    return path


def _measure(mode: str, seconds: float, pipeline_dir: Path, audio_path: Path, work: Path) -> dict[str, Any]:
    out = work / f"{mode}-{seconds:g}.json"
    python_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=python_path, PYANNOTE_METRICS_ENABLED="0", HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS=str(THREADS))
    command = [sys.executable, "-m", "benchmarks.bench_diarization", mode, str(seconds), str(pipeline_dir),
               str(audio_path), str(out)]
    print(f"#   diarization {mode} {seconds:g}s …", file=sys.stderr, flush=True)
    subprocess.run(command, cwd=REPO, env=env, check=True)
    return json.loads(out.read_text())


def _worker(mode: str, seconds: float, pipeline_dir: Path, audio_path: Path, out: Path) -> None:
    import warnings

    import numpy as np
    import torch
    from pyannote.audio import Pipeline

    from heard_local.adapters.fast_diarization import diarize_fast, last_path

    warnings.filterwarnings("ignore")
    torch.set_num_threads(THREADS)
    audio = np.load(audio_path, mmap_mode="r")[: int(seconds * SAMPLE_RATE)]
    audio = np.ascontiguousarray(audio)
    if mode == "builtin":
        from heard_local.adapters.builtin_diarization.pipeline import build_pipeline

        pipeline = build_pipeline()
    else:
        pipeline = Pipeline.from_pretrained(pipeline_dir)

    def diarize(samples: np.ndarray, **speakers: int) -> Any:
        if mode in ("stock", "builtin"):
            return pipeline({"waveform": torch.from_numpy(samples)[None], "sample_rate": SAMPLE_RATE}, **speakers)
        return diarize_fast(pipeline, samples, SAMPLE_RATE, **speakers)

    started = time.perf_counter()
    # warm-up (and, for fast, the one-time build); 12 s may hold fewer than 4 speakers' worth of embeddings
    diarize(np.ascontiguousarray(audio[: 12 * SAMPLE_RATE]))
    first_call = time.perf_counter() - started

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    output = diarize(audio, num_speakers=NUM_SPEAKERS)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    turns = [[float(s.start), float(s.end), str(label)]
             for s, _, label in output.speaker_diarization.itertracks(yield_label=True)]
    out.write_text(json.dumps({
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_rss_mb": after.ru_maxrss / 1024,
        "first_call_s": first_call,
        "path": last_path(pipeline) if mode == "fast" else mode,
        "turns": turns,
    }))


if __name__ == "__main__":
    _worker(sys.argv[1], float(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
