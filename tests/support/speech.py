"""Multi-speaker test conversations spoken by espeak-ng, with exactly known turns.

Each utterance is synthesised with its speaker's voice, trimmed to its first and last audible sample,
and placed on a timeline, so the reference "who spoke when" is exact. Mono files mix everyone; stereo
files put each speaker on its own channel (a call-centre recording), optionally with the other party
leaking in (crosstalk) and line noise. Other formats are made from the WAV with ffmpeg.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
# Audible: above this absolute amplitude (espeak-ng writes digital silence around speech).
_AUDIBLE = 1e-3

VOICES: dict[str, tuple[str, int, int]] = {  # speaker -> (espeak voice, pitch 0-99, words per minute)
    "A": ("en-us+m3", 35, 165),
    "B": ("en-gb+f3", 75, 175),
    "C": ("en-us+m7", 55, 150),
    "D": ("en-gb+f4", 90, 185),
}

DEFAULT_SCRIPT: list[tuple[str, str]] = [
    ("A", "Thank you for calling the bank, this is Alice speaking."),
    ("B", "Hello, I lost my debit card yesterday evening."),
    ("A", "I am sorry to hear that. Can you confirm your date of birth?"),
    ("B", "Yes, it is the fourth of July nineteen eighty."),
    ("A", "Thank you. I have blocked the card and ordered a new one."),
    ("B", "Great, thanks a lot for your help."),
]


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float
    text: str


@dataclass
class Conversation:
    path: Path
    turns: list[Turn]
    duration: float
    channels: int
    channel_of: dict[str, int] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(t.speaker for t in self.turns))

    def der(self, hypothesis_turns: list[tuple[float, float, str]]) -> float:
        return der(self.reference(), hypothesis_turns, duration=self.duration)

    def reference(self) -> object:
        """The turns as a pyannote ``Annotation`` (for DER with pyannote.metrics)."""
        from pyannote.core import Annotation, Segment

        annotation = Annotation()
        for i, turn in enumerate(self.turns):
            annotation[Segment(turn.start, turn.end), i] = turn.speaker
        return annotation


def have_tools() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def synthesize(text: str, speaker: str) -> np.ndarray:
    """``text`` in ``speaker``'s voice: 16 kHz float32, trimmed to the audible part."""
    voice, pitch, speed = VOICES[speaker]
    spoken = subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
                            check=True, capture_output=True).stdout
    resampled = subprocess.run(["sox", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "floating-point",
                                "-b", "32", "-c", "1", "-"], input=spoken, check=True, capture_output=True).stdout
    audio = np.frombuffer(resampled, dtype=np.float32).copy()
    audible = np.flatnonzero(np.abs(audio) > _AUDIBLE)
    if audible.size == 0:
        raise ValueError(f"espeak-ng produced no audible speech for {text!r}")
    return audio[audible[0]:audible[-1] + 1]


def build_conversation(path: Path, script: list[tuple[str, str]] | None = None, *, stereo: bool = False,
                       gap: float = 0.7, lead: float = 0.5, tail: float = 0.5, crosstalk_db: float | None = None,
                       noise_db: float | None = None, seed: int = 0) -> Conversation:
    """Write ``path`` (any extension ffmpeg knows; WAV written directly) and return its exact turns.

    ``gap``: silence between turns (negative: the next speaker starts before the previous ends).
    ``crosstalk_db``: in stereo, each channel also carries the other party this many dB lower.
    ``noise_db``: white noise at this level (dBFS) on every channel."""
    script = script or DEFAULT_SCRIPT
    clips = [(speaker, text, synthesize(text, speaker)) for speaker, text in script]
    speakers = list(dict.fromkeys(s for s, _, _ in clips))
    channel_of = {s: (i % 2 if stereo else 0) for i, s in enumerate(speakers)}
    turns: list[Turn] = []
    cursor = lead
    for speaker, text, audio in clips:
        start = max(0.0, cursor)
        turns.append(Turn(speaker, start, start + len(audio) / SAMPLE_RATE, text))
        cursor = turns[-1].end + gap
    duration = max(t.end for t in turns) + tail
    channels = 2 if stereo else 1
    mix = np.zeros((channels, int(np.ceil(duration * SAMPLE_RATE))), dtype=np.float32)
    placed: list[Turn] = []
    for turn, (speaker, _, audio) in zip(turns, clips, strict=True):
        at = round(turn.start * SAMPLE_RATE)
        mix[channel_of[speaker], at:at + len(audio)] += audio
        # exact sample positions define the reference
        placed.append(Turn(speaker, at / SAMPLE_RATE, (at + len(audio)) / SAMPLE_RATE, turn.text))
    turns = placed
    if stereo and crosstalk_db is not None:
        leak = 10 ** (-crosstalk_db / 20)
        mix = mix + leak * mix[::-1]
    if noise_db is not None:
        rng = np.random.default_rng(seed)
        mix = mix + (10 ** (noise_db / 20) * rng.standard_normal(mix.shape)).astype(np.float32)
    peak = float(np.abs(mix).max())
    if peak > 0.99:
        mix *= 0.99 / peak
    write_audio(path, mix)
    return Conversation(path=path, turns=turns, duration=mix.shape[1] / SAMPLE_RATE, channels=channels,
                        channel_of=channel_of)


def write_audio(path: Path, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """(channels, samples) float audio to ``path``: 16-bit WAV, or via ffmpeg for other extensions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = path if path.suffix.lower() == ".wav" else path.with_name(path.name + ".tmp.wav")
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").T.copy()
    with wave.open(str(wav), "wb") as handle:
        handle.setnchannels(samples.shape[0])
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    if wav != path:
        convert(wav, path)
        wav.unlink()
    return path


# ffmpeg codec per target format (the container follows the extension).
_CODECS = {".mp3": "libmp3lame", ".m4a": "aac", ".webm": "libopus", ".ogg": "libvorbis", ".flac": "flac",
           ".wav": "pcm_s16le", ".aac": "aac", ".wma": "wmav2", ".aiff": "pcm_s16be", ".caf": "pcm_s16le",
           ".3gp": "aac", ".au": "pcm_s16be", ".ac3": "ac3", ".wv": "wavpack"}


def convert(source: Path, target: Path) -> Path:
    """Re-encode ``source`` as ``target`` (format from its extension; the name may say otherwise later)."""
    codec = _CODECS[target.suffix.lower()]
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), "-c:a", codec, str(target)],
                   check=True, capture_output=True)
    return target


def der(reference: object, hypothesis_turns: list[tuple[float, float, str]], *, duration: float | None = None,
        collar: float = 0.0) -> float:
    """Diarization error rate of ``hypothesis_turns`` (start, end, label) against a reference Annotation,
    with pyannote.metrics' standard definition (optimal label mapping; no collar by default), evaluated
    over [0, duration] (default: the extent of both)."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    hypothesis = Annotation()
    for i, (start, end, label) in enumerate(hypothesis_turns):
        hypothesis[Segment(start, end), i] = label
    if duration is None:
        duration = max([reference.get_timeline().extent().end, *(end for _, end, _ in hypothesis_turns)])
    uem = Timeline([Segment(0.0, duration)])
    return float(DiarizationErrorRate(collar=collar)(reference, hypothesis, uem=uem))
