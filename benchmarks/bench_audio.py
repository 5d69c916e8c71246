"""Audio pipeline: (a) its overhead over bare faster-whisper, (b) ASR ∥ diarization keeping every core
busy, (c) peak memory on a 60-minute call.

Models are random-weight builds of the REAL architectures (Whisper ``small`` / ``base`` dimensions,
pyannote community-1's WeSpeakerResNet34 embedding): compute cost does not depend on weight values,
so the timings are what real models cost here. The Whisper build says a 100-word phrase per 30 s
window, about the token count of real conversational speech. Speech is espeak-ng.

    python -m benchmarks audio            # Whisper small, 3-minute conversation
    python -m benchmarks audio --quick    # Whisper base, 1-minute conversation
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.result import Result
from heard_local.adapters.audio_decode import PyAvDecoder, decode_audio
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import VAD_PARAMETERS, WhisperTranscriber, cpu_count
from heard_local.config import Settings
from heard_local.pipeline.audio import StageTimes, conversation_from_audio, conversation_from_waveform
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import DiarizeOptions, TranscribeOptions
from tests.support import speech
from tests.support.tiny_whisper import build_tiny_whisper


def _phrase(words: int = 100, seed: int = 7) -> str:
    """Distinct pseudo-words that compress like real text (a "word1 word2 …" phrase would trip Whisper's
    compression-ratio check and its temperature fallback, costing what real speech never costs)."""
    rng = np.random.default_rng(seed)
    chosen: dict[str, None] = {}
    while len(chosen) < words:
        chosen["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(2, 9))))] = None
    return " ".join(chosen)


PHRASE = _phrase()
LINES = [text for _, text in speech.DEFAULT_SCRIPT] + [
    "Could you tell me the last four digits of the card, please?",
    "Sure, they are one, two, three and four.",
    "Perfect. The new card will arrive within five working days.",
    "Is there anything else I can do for you today?",
]
MEMORY_MINUTES = 60


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, process CPU seconds, result)."""
    wall, cpu = time.perf_counter(), process_cpu()
    result = call()
    return time.perf_counter() - wall, process_cpu() - cpu, result


def conversation(path: Path, seconds: float, *, stereo: bool = False) -> speech.Conversation:
    speakers = "ABAC"
    script = [(speakers[i % len(speakers)], LINES[i % len(LINES)]) for i in range(int(seconds / 3.6) + 1)]
    return speech.build_conversation(path, script, stereo=stereo, gap=0.6)


def run(quick: bool) -> list[Result]:
    architecture = "base" if quick else "small"
    seconds = 60.0 if quick else 180.0
    load = os.getloadavg()[0]
    note = f"Whisper {architecture} int8, {seconds:.0f}s speech, {cpu_count()} cores, load avg {load:.1f} at start"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = build_tiny_whisper(work / f"whisper-{architecture}", architecture=architecture, phrase=PHRASE,
                                       quantization="int8")
        talk = conversation(work / "talk.wav", seconds)
        transcriber = WhisperTranscriber(Settings(whisper_model=str(model_dir), _env_file=None))
        results = overhead(transcriber, talk.path, note, repeats=2 if quick else 3)
        results += concurrency(transcriber, talk.path, work, note)
        results += memory(work, quick)
    return results


# --- (a) pipeline vs bare faster-whisper ---------------------------------------------------------------

def bare_transcribe(transcriber: WhisperTranscriber, path: Path, batched: bool | None = None) -> list[Any]:
    """What a user of faster-whisper alone would run, with the options the pipeline uses (``batched``:
    force one decoding mode; default: the one the pipeline picks for this duration)."""
    from faster_whisper import BatchedInferencePipeline

    if batched is None:
        batched = transcriber.uses_batched(decode_audio(path).duration)
    options: dict[str, Any] = {"word_timestamps": True, "vad_filter": True}
    if batched:
        segments, _ = BatchedInferencePipeline(transcriber.model).transcribe(
            str(path), batch_size=transcriber.batch_size, **options)
    else:
        segments, _ = transcriber.model.transcribe(str(path), vad_parameters=dict(VAD_PARAMETERS), **options)
    return list(segments)


def overhead(transcriber: WhisperTranscriber, path: Path, note: str, repeats: int) -> list[Result]:
    bare_walls, pipeline_walls, bare_cpus, pipeline_cpus = [], [], [], []
    for _ in range(repeats):  # interleaved, best of n: the machine's other load hits both alike
        wall, cpu, segments = measure(lambda: bare_transcribe(transcriber, path))
        bare_walls.append(wall)
        bare_cpus.append(cpu)
        wall, cpu, result = measure(lambda: conversation_from_audio(
            path, decoder=PyAvDecoder(), transcriber=transcriber, diarizer=None))
        pipeline_walls.append(wall)
        pipeline_cpus.append(cpu)
        assert len(result.segments) >= 1 and len(segments) >= 1
    ratio = min(pipeline_walls) / min(bare_walls)
    mode = "batched" if transcriber.uses_batched(decode_audio(path).duration) else "sequential"
    sequential_wall, sequential_cpu, _ = measure(lambda: bare_transcribe(transcriber, path, batched=False))
    batched_wall, batched_cpu, _ = measure(lambda: bare_transcribe(transcriber, path, batched=True))
    return [
        Result("audio", "(a) sequential / batched decoding, wall", sequential_wall / batched_wall, "×",
               note=f"why long files go batched: sequential {sequential_wall:.1f}s (CPU {sequential_cpu:.1f}s), "
                    f"batched {batched_wall:.1f}s (CPU {batched_cpu:.1f}s)"),
        Result("audio", "(a) bare WhisperModel.transcribe wall", min(bare_walls), "s", note=f"{note}; {mode}"),
        Result("audio", "(a) pipeline wall (decode+ASR+guard+align)", min(pipeline_walls), "s",
               note=f"diarization off; best of {repeats}"),
        Result("audio", "(a) pipeline / bare, wall", ratio, "×", "≤ 1.05", ratio <= 1.05),
        Result("audio", "(a) pipeline / bare, CPU", min(pipeline_cpus) / min(bare_cpus), "×",
               note="process CPU seconds: insensitive to other load"),
    ]


# --- (b) ASR ∥ diarization ---------------------------------------------------------------------------

def concurrency(transcriber: WhisperTranscriber, path: Path, work: Path, note: str) -> list[Result]:
    from tests.support.tiny_pyannote import build_tiny_pyannote_pipeline

    pipeline_dir = build_tiny_pyannote_pipeline(work / "pyannote-community-1", embedding="wespeaker")
    diarizer = AutoDiarizer(str(pipeline_dir))
    diarizer.speaker_model()  # load outside the timings
    waveform = decode_audio(path)
    cores = cpu_count()
    options = TranscribeOptions()
    asr_wall, asr_cpu, _ = measure(lambda: transcriber.transcribe(waveform, options, null_hook))
    diar_wall, diar_cpu, diarization = measure(lambda: diarizer.diarize(waveform, DiarizeOptions(), null_hook))
    assert diarization.method == "pyannote"
    times = StageTimes()
    both_wall, both_cpu, result = measure(lambda: conversation_from_waveform(
        waveform, transcriber=transcriber, diarizer=diarizer, hook=null_hook, times=times))
    assert result.segments
    floor = (asr_cpu + diar_cpu) / cores
    busy = both_cpu / (both_wall * cores)
    return [
        Result("audio", "(b) ASR alone wall / CPU", asr_wall, "s", note=f"CPU {asr_cpu:.1f}s; {note}"),
        Result("audio", "(b) pyannote alone wall / CPU", diar_wall, "s",
               note=f"CPU {diar_cpu:.1f}s; WeSpeakerResNet34 (community-1 architecture)"),
        Result("audio", "(b) ASR ∥ diarization wall", both_wall, "s",
               note=f"sequential would be {asr_wall + diar_wall:.1f}s; stages {times.transcribe:.1f}s ∥ "
                    f"{times.diarize:.1f}s"),
        Result("audio", "(b) wall / (stage CPU ÷ cores)", both_wall / floor, "×", "≤ 1.1", both_wall / floor <= 1.1,
               note=f"floor {floor:.1f}s = ({asr_cpu:.1f}+{diar_cpu:.1f}) / {cores}"),
        Result("audio", "(b) cores busy during ASR ∥ diarization", 100 * busy, "%", "≥ 90%", busy >= 0.9),
    ]


# --- (c) peak memory on a 60-minute call --------------------------------------------------------------

def memory(work: Path, quick: bool) -> list[Result]:
    minutes = 20 if quick else MEMORY_MINUTES
    call = speech.build_conversation(work / "call.wav", stereo=True, gap=0.6)
    long_call = tile(call.path, work / f"call-{minutes}min.wav", minutes * 60)
    # memory is about the audio, not the model: the smallest build (its default short phrase) will do
    model_dir = build_tiny_whisper(work / "whisper-memory", architecture="test")
    started = time.perf_counter()
    report = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_audio", "--memory", str(long_call), str(model_dir)],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
    )
    measured = json.loads(report.stdout.strip().splitlines()[-1])
    elapsed = time.perf_counter() - started
    waveform = measured["waveform_mb"]
    baseline, decoded, peak = measured["baseline_mb"], measured["decode_peak_mb"], measured["peak_mb"]
    decode_growth = (decoded - baseline) / waveform
    return [
        Result("audio", f"(c) peak RSS, {minutes}-min stereo call", peak, "MiB",
               note=f"baseline (imports, model, VAD) {baseline:.0f} MiB; {elapsed:.0f}s; "
                    f"{measured['segments']} segments, {measured['speakers']} speakers (channels)"),
        Result("audio", "(c) decoded waveform (2 ch float32 16 kHz)", waveform, "MiB"),
        Result("audio", "(c) decode: peak growth ÷ waveform", decode_growth, "×", "≤ 1.1", decode_growth <= 1.1,
               note="decoded straight into one preallocated array: no second copy"),
        Result("audio", "(c) whole stage: peak growth ÷ waveform", (peak - baseline) / waveform, "×",
               note="+0.5× mono mix (ASR, pyannote); the rest is faster-whisper's Silero VAD "
                    "(pads + re-frames the audio) and batched chunk/feature buffers"),
    ]


def tile(source: Path, target: Path, seconds: float) -> Path:
    """Repeat ``source`` (16-bit WAV) to ``seconds``, written in blocks (no hour of audio in memory)."""
    with wave.open(str(source), "rb") as reader:
        params = reader.getparams()
        block = reader.readframes(params.nframes)
    frames_needed = int(seconds * params.framerate)
    with wave.open(str(target), "wb") as writer:
        writer.setparams(params)
        written = 0
        while written < frames_needed:
            take = min(params.nframes, frames_needed - written)
            writer.writeframes(block[: take * params.sampwidth * params.nchannels])
            written += take
    return target


class _RssSampler:
    """Peak resident memory per phase, sampled every 5 ms (ru_maxrss only knows the overall peak)."""

    def __init__(self) -> None:
        self.phase = "start"
        self.peaks: dict[str, float] = {}
        threading.Thread(target=self._poll, daemon=True).start()

    def _poll(self) -> None:
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while True:
            with open("/proc/self/statm") as statm:
                rss = int(statm.read().split()[1]) * page_mb
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)
            time.sleep(0.005)

    def enter(self, phase: str) -> None:
        time.sleep(0.02)  # let the sampler see the end of the previous phase
        self.phase = phase


def _memory_child(path: Path, model_dir: Path) -> None:
    """Runs in a fresh process: load the model, then one full audio stage; print peaks as JSON."""
    from faster_whisper.vad import get_vad_model

    sampler = _RssSampler()
    transcriber = WhisperTranscriber(Settings(whisper_model=str(model_dir), _env_file=None))
    get_vad_model()  # loads lazily otherwise; it belongs to the baseline, not to the recording
    sampler.enter("baseline")
    sampler.enter("decode")
    waveform = PyAvDecoder().decode(path)
    sampler.enter("stage")
    result = conversation_from_waveform(waveform, transcriber=transcriber, diarizer=AutoDiarizer(None),
                                        diarize_options=DiarizeOptions(agent_name="Alice"))
    sampler.enter("end")
    # VmHWM: this process image's own peak (ru_maxrss would carry over the parent's from before exec)
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    peak = int(status["VmHWM"].split()[0]) / 1024
    print(json.dumps({"baseline_mb": sampler.peaks["baseline"], "decode_peak_mb": sampler.peaks["decode"],
                      "peak_mb": max(peak, *sampler.peaks.values()), "waveform_mb": waveform.samples.nbytes / 2**20,
                      "segments": len(result.segments), "speakers": result.num_speakers}))


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--memory":
    _memory_child(Path(sys.argv[2]), Path(sys.argv[3]))
