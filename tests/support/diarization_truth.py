"""Real recordings with speaker ground truth, and the diarization error rate against it (the voice
diarizer's tests and benchmarks/quality_diarization.py).

- ``pyannote-audio/sample.wav``: a two-person phone call, 30 s (sample.rttm);
- the AMI meeting excerpts pyannote-audio tests on (tests-data/debug.{train,development,test}.*:
  .lst names, .rttm turns, .uem the scored extent; 30 s each, up to 4 speakers, much overlap).

DER is pyannote.metrics' with no collar and overlap scored (``collar=0, skip_overlap=False``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "pyannote-audio"
AMI = DATA / "tests-data"
SUBSETS = ("train", "development", "test")


@dataclass
class Recording:
    name: str
    wav: Path
    turns: list[tuple[float, float, str]]  # reference
    scored: tuple[float, float]  # the UEM extent

    @property
    def speakers(self) -> int:
        return len({t[2] for t in self.turns})

    def samples(self) -> np.ndarray:
        """16 kHz mono float32."""
        from scipy.io import wavfile

        rate, data = wavfile.read(self.wav)
        if rate != 16_000:
            raise ValueError(f"{self.wav}: {rate} Hz, expected 16000")
        if data.dtype == np.int16:
            data = data.astype(np.float32) / 32768.0
        data = data.astype(np.float32)
        return data if data.ndim == 1 else data.mean(axis=1)


def available() -> bool:
    return (DATA / "sample.wav").is_file() and AMI.is_dir()


def _ascii(name: str) -> str:
    """The lists spell one file "trñ00" and its RTTM/UEM "trn00"."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def read_rttm(path: Path) -> dict[str, list[tuple[float, float, str]]]:
    turns: dict[str, list[tuple[float, float, str]]] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.setdefault(_ascii(fields[1]), []).append((start, start + duration, fields[7]))
    return turns


def read_uem(path: Path) -> dict[str, tuple[float, float]]:
    extents: dict[str, tuple[float, float]] = {}
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 4:
            extents[_ascii(fields[0])] = (float(fields[2]), float(fields[3]))
    return extents


def sample_call() -> Recording:
    turns = read_rttm(DATA / "sample.rttm")["sample"]
    return Recording("sample", DATA / "sample.wav", turns, (0.0, 30.0))


def ami(subset: str) -> list[Recording]:
    """The excerpts of one subset ("train", "development" or "test"), in list order."""
    names = (AMI / f"debug.{subset}.lst").read_text().split()
    turns = read_rttm(AMI / f"debug.{subset}.rttm")
    extents = read_uem(AMI / f"debug.{subset}.uem")
    return [Recording(_ascii(name), AMI / f"{name}.wav", turns.get(_ascii(name), []), extents[_ascii(name)])
            for name in names]


def scored_recordings() -> list[Recording]:
    """What the issue's targets are measured on: sample.wav, then debug.test and debug.development."""
    return [sample_call(), *ami("test"), *ami("development")]


def annotation(turns: Iterable[tuple[float, float, str]]) -> Any:
    from pyannote.core import Annotation, Segment

    result = Annotation()
    for index, (start, end, label) in enumerate(turns):
        if end > start:
            result[Segment(start, end), index] = label
    return result


def der(recording: Recording, hypothesis: Iterable[tuple[float, float, str]]) -> float:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    uem = Timeline([Segment(*recording.scored)])
    return float(metric(annotation(recording.turns), annotation(hypothesis), uem=uem))


def diarize(diarizer: Any, samples: np.ndarray, **options: int) -> Any:
    """``diarizer`` (any :class:`heard_local.pipeline.protocols.Diarizer`) on 16 kHz mono ``samples``, with
    speaker-count ``options`` (num_speakers=, min_speakers=, max_speakers=); no progress hook."""
    from heard_local.pipeline.progress import null_hook
    from heard_local.pipeline.protocols import DiarizeOptions, Waveform

    waveform = Waveform(samples=np.asarray(samples, np.float32)[None, :])
    return diarizer.diarize(waveform, DiarizeOptions(**options), null_hook)


def as_tuples(turns: Iterable[Any]) -> list[tuple[float, float, str]]:
    """SpeakerTurns as the (start, end, speaker) tuples :func:`der` takes."""
    return [(t.start, t.end, t.speaker) for t in turns]
