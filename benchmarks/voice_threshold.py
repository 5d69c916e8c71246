"""Calibrates the voice-profile match threshold on the real recordings in ../shared/data.

Voiceprints are made exactly as a job makes them (:mod:`heard_local.pipeline.voiceprints`: each speaker's
solo speech, cut here with the ground-truth RTTM instead of a diarizer, up to 60 s, the app's encoder):

- impostor trials (a false accept when scored above the threshold): every pair of different people among
  the AMI excerpts' speakers (pyannote-audio/tests-data, 14 meetings), the two people of
  pyannote-audio/sample.wav, and the agents and callers of the six harper-valley-calls (each side's own
  recording; people told apart by the metadata's ``speaker_id``);
- genuine trials (a false reject when scored below it): the same person in two different recordings (AMI
  speakers recur across excerpts, one harper-valley person is an agent in one call and a caller in
  another), the first half of a person's speech against its second half, and each party of each
  harper-valley stereo call against the same call re-encoded to 32 kb/s mp3 with ffmpeg.

    python -m benchmarks.voice_threshold            # FA/FR at the app's threshold, and a sweep
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.voiceprint_encoder import VoiceprintEncoder
from heard_local.domain.voice import Voiceprint
from heard_local.pipeline.voiceprints import (
    MATCH_MARGIN,
    MATCH_THRESHOLD,
    MIN_SPEECH_SECONDS,
    Span,
    solo_speech,
    voiceprint,
)

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
AMI = DATA / "pyannote-audio" / "tests-data"
HARPER = DATA / "harper-valley-calls"
RATE = 16_000


@dataclass(frozen=True)
class Print:
    person: str  # who really speaks (dataset-qualified)
    recording: str
    part: str  # "all", "first half", "second half", "mp3"
    print: Voiceprint


def read_rttm(path: Path) -> dict[str, dict[str, list[Span]]]:
    """uri -> speaker -> turns."""
    turns: dict[str, dict[str, list[Span]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[0] == "SPEAKER":
            start, length = float(parts[3]), float(parts[4])
            turns.setdefault(parts[1], {}).setdefault(parts[7], []).append((start, start + length))
    return turns


def halves(spans: list[Span]) -> tuple[list[Span], list[Span]]:
    """The first and second half of the speech in ``spans`` (by speech time)."""
    total = sum(e - s for s, e in spans)
    first: list[Span] = []
    second: list[Span] = []
    seen = 0.0
    for start, end in spans:
        middle = start + max(0.0, total / 2 - seen)
        if middle >= end:
            first.append((start, end))
        elif middle <= start:
            second.append((start, end))
        else:
            first.append((start, middle))
            second.append((middle, end))
        seen += end - start
    return first, second


def prints_of(samples: np.ndarray, spans: list[Span], person: str, recording: str) -> Iterator[Print]:
    encoder = VoiceprintEncoder()
    whole = voiceprint(samples, spans, RATE, encoder)
    if whole is not None:
        yield Print(person, recording, "all", whole)
    first, second = halves(spans)
    a, b = voiceprint(samples, first, RATE, encoder), voiceprint(samples, second, RATE, encoder)
    if a is not None and b is not None:
        yield Print(person, recording, "first half", a)
        yield Print(person, recording, "second half", b)


def ami_prints() -> Iterator[Print]:
    turns: dict[str, dict[str, list[Span]]] = {}
    for rttm in sorted(AMI.glob("debug.*.rttm")):
        turns.update(read_rttm(rttm))
    for wav in sorted(AMI.glob("*.wav")):
        uri = wav.stem
        if uri not in turns:
            continue
        samples = decode_audio(wav).mono
        for speaker, spans in solo_speech(turns[uri], gap=0.0).items():
            yield from prints_of(samples, spans, f"ami:{speaker}", f"ami:{uri}")


def sample_prints() -> Iterator[Print]:
    turns = read_rttm(DATA / "pyannote-audio" / "sample.rttm")["sample"]
    samples = decode_audio(DATA / "pyannote-audio" / "sample.wav").mono
    for speaker, spans in solo_speech(turns, gap=0.0).items():
        yield from prints_of(samples, spans, f"sample:{speaker}", "sample")


def harper_people(call: str) -> dict[str, str]:
    meta = json.loads((HARPER / "metadata" / f"{call}.json").read_text(encoding="utf-8"))
    return {side: f"harper:{meta[side]['speaker_id']}" for side in ("agent", "caller")}


def mp3_copy(source: Path, directory: Path) -> Path:
    target = directory / f"{source.stem}.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), "-b:a", "32k", str(target)],
                   check=True)
    return target


def harper_prints(scratch: Path) -> Iterator[Print]:
    encoder = VoiceprintEncoder()
    for stereo in sorted((HARPER / "stereo").glob("*.flac")):
        call = stereo.stem
        people = harper_people(call)
        turns = read_rttm(HARPER / "ref" / f"{call}.rttm")[call]
        # Each side's own recording, as the speaker's conversation would give it.
        for side in ("agent", "caller"):
            samples = decode_audio(HARPER / "audio" / side / f"{call}.wav").mono
            yield from prints_of(samples, solo_speech({side: turns[side]}, gap=0.0)[side], people[side],
                                 f"harper:{call}")
        # The stereo call and its mp3 copy, channel by channel (L = agent, R = caller).
        original, encoded = decode_audio(stereo), decode_audio(mp3_copy(stereo, scratch))
        for channel, side in enumerate(("agent", "caller")):
            spans = solo_speech({side: turns[side]}, gap=0.0)[side]
            a = voiceprint(original.samples[channel], spans, RATE, encoder)
            b = voiceprint(encoded.samples[channel], spans, RATE, encoder)
            if a is not None and b is not None:
                yield Print(people[side], f"harper:{call}:stereo", "stereo", a)
                yield Print(people[side], f"harper:{call}:stereo", "mp3", b)


@dataclass
class Trials:
    impostor: list[tuple[float, str]]
    impostor_same_recording: list[tuple[float, str]]  # e.g. the other party of the same call
    cross_recording: list[tuple[float, str]]
    halves: list[tuple[float, str]]
    mp3: list[tuple[float, str]]


def trials(prints: list[Print]) -> Trials:
    whole = [p for p in prints if p.part == "all"]
    out = Trials([], [], [], [], [])
    for a, b in itertools.combinations(whole, 2):
        score = float(np.dot(a.print.vector, b.print.vector))
        label = f"{a.person}@{a.recording} vs {b.person}@{b.recording}"
        if a.person != b.person:
            out.impostor.append((score, label))
            if a.recording == b.recording:
                out.impostor_same_recording.append((score, label))
        elif a.recording != b.recording:
            out.cross_recording.append((score, label))
    by_key = {(p.person, p.recording, p.part): p for p in prints}
    for (person, recording, part), p in by_key.items():
        if part == "first half" and (person, recording, "second half") in by_key:
            other = by_key[(person, recording, "second half")]
            out.halves.append((float(np.dot(p.print.vector, other.print.vector)), f"{person}@{recording}"))
        if part == "stereo" and (person, recording, "mp3") in by_key:
            other = by_key[(person, recording, "mp3")]
            out.mp3.append((float(np.dot(p.print.vector, other.print.vector)), f"{person}@{recording}"))
    return out


def rate(scores: list[tuple[float, str]], threshold: float, *, accept: bool) -> str:
    hits = sum(1 for s, _ in scores if (s >= threshold) == accept)
    return f"{hits}/{len(scores)} ({hits / len(scores):.1%})" if scores else "n/a"


def main() -> int:
    if not DATA.is_dir():
        print(f"shared data missing: {DATA}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        prints = [*ami_prints(), *sample_prints(), *harper_prints(Path(scratch))]
    result = trials(prints)
    speech = [p.print.speech_seconds for p in prints if p.part == "all"]
    print(f"{len([p for p in prints if p.part == 'all'])} speaker-recordings (solo speech {min(speech):.1f}"
          f"–{max(speech):.1f} s, minimum for a voiceprint {MIN_SPEECH_SECONDS} s)")
    print(f"impostor pairs {len(result.impostor)}, same person across recordings {len(result.cross_recording)}, "
          f"halves {len(result.halves)}, mp3 copies {len(result.mp3)}")
    print("\nthreshold  false-accept(impostors)  false-reject(cross-recording)  false-reject(halves)  "
          "false-reject(mp3)")
    for threshold in (*np.arange(0.70, 0.95, 0.02), MATCH_THRESHOLD):
        mark = "  <- the app's threshold" if threshold == MATCH_THRESHOLD else ""
        print(f"{threshold:9.2f}  {rate(result.impostor, threshold, accept=True):>23}  "
              f"{rate(result.cross_recording, threshold, accept=False):>29}  "
              f"{rate(result.halves, threshold, accept=False):>20}  "
              f"{rate(result.mp3, threshold, accept=False):>17}{mark}")
    print(f"\nmatch margin over the second-best profile: {MATCH_MARGIN}")
    for name, scores in (("impostor", result.impostor), ("cross-recording", result.cross_recording),
                         ("halves", result.halves), ("mp3", result.mp3)):
        if scores:
            values = np.array([s for s, _ in scores])
            print(f"{name:16} min {values.min():.3f}  median {np.median(values):.3f}  max {values.max():.3f}")
    print(f"impostors in the same recording (the other party of a call, a colleague in the meeting): "
          f"{rate(result.impostor_same_recording, MATCH_THRESHOLD, accept=True)} above the threshold")
    print("\nhighest impostor scores:")
    for score, label in sorted(result.impostor, reverse=True)[:5]:
        print(f"  {score:.3f}  {label}")
    print("lowest genuine scores:")
    for score, label in sorted(result.cross_recording + result.halves + result.mp3)[:5]:
        print(f"  {score:.3f}  {label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
