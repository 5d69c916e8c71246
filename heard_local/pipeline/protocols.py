"""The seams between the engine and the models: plain dataclasses in, plain dataclasses out.

Adapters (faster-whisper, pyannote, Ollama) implement these Protocols; the engine only ever sees the
Protocols, so a stage can be swapped (a different ASR, a stereo-channel diarizer) without touching it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from heard_local.pipeline.progress import ProgressHook

if TYPE_CHECKING:
    from heard_local.domain import ExtractionField, Fields, Segment, Summary
    from heard_local.domain.voice import Voiceprint

SAMPLE_RATE = 16_000


@dataclass(frozen=True, eq=False)
class Waveform:
    """Decoded audio, 16 kHz float32, shape (channels, samples). Decoded once, shared by every stage."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE
    source_format: str | None = None
    notes: tuple[str, ...] = ()  # what the decoder wants the user to know (e.g. "damaged after 61 s")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    @cached_property
    def mono(self) -> np.ndarray:
        """1-D float32 mix of all channels (a view, not a copy, for mono audio)."""
        if self.channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0, dtype=np.float32)

    def channel(self, index: int) -> Waveform:
        """One channel as a mono waveform (a view of the samples, not a copy)."""
        return Waveform(samples=self.samples[index:index + 1], sample_rate=self.sample_rate,
                        source_format=self.source_format)


@dataclass
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass
class AsrSegment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 1.0


@dataclass
class AsrResult:
    language: str | None
    segments: list[AsrSegment]
    language_probability: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class TranscribeOptions:
    language: str | None = None  # None: detect
    vocabulary: list[str] = field(default_factory=list)


@dataclass
class SpeakerTurn:
    start: float
    end: float
    speaker: str  # the diarizer's own label; alignment renumbers to SPEAKER_00…


@dataclass(frozen=True)
class ChannelLayout:
    """How a recording's channels relate, decided once per recording: whether each channel carries its own
    party (a contact-centre call), and then the speaker label each channel's speech gets."""

    separate: bool
    reason: str
    labels: tuple[str, ...] = ()  # per channel, when separate; the same labels the diarizer uses


@dataclass
class DiarizeOptions:
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    # Role names for channel-based diarization ("agent" on one channel, "customer" on the other).
    agent_name: str | None = None
    agent_channel: int | None = None  # which channel (0 = left) carries the agent; default 0
    # The recording's channel decision, when the pipeline already made it (the diarizer then does not
    # analyse the channels again).
    channel_layout: ChannelLayout | None = None


@dataclass
class DiarizationResult:
    turns: list[SpeakerTurn]
    method: str  # "channels", "pyannote", "builtin", "voice", "single" …
    roles: dict[str, str] = field(default_factory=dict)  # diarizer label -> role ("agent")
    warnings: list[str] = field(default_factory=list)
    # Every speaker's turns with overlapped speech given to each speaker in it, from diarizers that detect
    # overlap (empty otherwise). ``turns`` is one speaker at a time: what the transcript is aligned to.
    overlapping_turns: list[SpeakerTurn] = field(default_factory=list)


@dataclass
class ConversationResult:
    """What the conversation stage produces, whatever the input (audio or text)."""

    segments: list[Segment]
    language: str | None
    duration: float | None
    speaker_roles: dict[str, str] = field(default_factory=dict)  # SPEAKER_00 -> "Agent"
    warnings: list[str] = field(default_factory=list)
    # Per segment, its words as {"start", "end", "word", "probability"} dicts (audio only).
    words: list[list[dict[str, Any]]] | None = None
    # SPEAKER_00 -> the channel index its speech was transcribed from (recordings transcribed per channel).
    speaker_channels: dict[str, int] = field(default_factory=dict)
    # SPEAKER_00 -> that speaker's voiceprint (audio only; biometric, stored apart, never exported).
    voiceprints: dict[str, Voiceprint] = field(default_factory=dict)

    @property
    def num_speakers(self) -> int:
        return len({s.speaker for s in self.segments})


class AudioDecoder(Protocol):
    def decode(self, path: Path) -> Waveform: ...


class Transcriber(Protocol):
    """May also have ``concurrent_calls: int``, how many ``transcribe`` calls it runs at once at full speed
    (1 when absent): both channels of a stereo call are then transcribed at the same time."""

    def transcribe(self, waveform: Waveform, options: TranscribeOptions, hook: ProgressHook) -> AsrResult: ...


class ChannelAnalyser(Protocol):
    def analyse(self, waveform: Waveform) -> ChannelLayout: ...


class Diarizer(Protocol):
    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult: ...


@dataclass
class LlmContext:
    """A stored conversation as the LLM stages see it."""

    segments: list[Segment]
    language: str | None
    speaker_labels: dict[str, str] = field(default_factory=dict)  # SPEAKER_00 -> "Agent"
    metadata: dict[str, Any] = field(default_factory=dict)
    summary_instructions: str | None = None  # the configuration's own wish for the summary's form


class FieldExtractor(Protocol):
    def extract(self, context: LlmContext, fields: list[ExtractionField], hook: ProgressHook) -> Fields: ...


class Summarizer(Protocol):
    def summarize(self, context: LlmContext, language: str | None, hook: ProgressHook) -> Summary: ...
