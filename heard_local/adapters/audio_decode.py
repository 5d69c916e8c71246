"""Decoding any supported recording to 16 kHz float32 with PyAV (bundled FFmpeg, installed with
faster-whisper), once per job, keeping every channel: call recordings often carry one party per channel.

The samples are written straight into one preallocated (channels, samples) array sized from the
container's duration, so a 60-minute file costs its decoded size once, not the several copies a
list-of-chunks-then-concatenate approach needs at its peak.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from heard_local.errors import UnsupportedFormatError, ValidationError
from heard_local.pipeline.protocols import SAMPLE_RATE, Waveform

log = logging.getLogger(__name__)

# Decoded audio shorter than this after a decoding error is treated as "nothing usable".
_MIN_PARTIAL_SECONDS = 1.0
# Head-room over the container's announced duration before the buffer has to grow.
_SIZE_MARGIN = 1.02


class PyAvDecoder:
    """:class:`heard_local.pipeline.protocols.AudioDecoder` on PyAV."""

    def decode(self, path: Path) -> Waveform:
        return decode_audio(path)


def decode_audio(path: Path, *, sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None,
                 max_channels: int | None = None) -> Waveform:
    """All channels of the first audio stream of ``path`` at ``sample_rate``, float32, (channels, samples).

    ValidationError (400) for a corrupt, truncated-to-nothing or silent-by-emptiness file, and for one
    longer than ``max_seconds`` or with more than ``max_channels`` channels: refused on its header before
    anything is allocated, and again while decoding (a header can understate the length), before the
    buffer outgrows the limit. UnsupportedFormatError (415) for a container without any audio stream."""
    import av

    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise ValidationError(f"The audio file could not be read; it may be corrupt ({_reason(exc)}).",
                              field="audio_file") from None
    with container:
        if not container.streams.audio:
            raise UnsupportedFormatError("The file holds no audio stream.", field="audio_file")
        stream = container.streams.audio[0]
        source_format = container.format.name
        announced = _announced_seconds(container, stream)
        check_limits(announced, _channel_count(stream), max_seconds=max_seconds, max_channels=max_channels)
        limit = None if max_seconds is None else int(max_seconds * sample_rate)
        expected = _expected_samples(announced, sample_rate)
        buffer = _Buffer(_channel_count(stream), expected if limit is None else min(expected, limit + sample_rate),
                         limit=limit)
        resampler = av.AudioResampler(format="fltp", layout=_layout_name(stream), rate=sample_rate)
        notes: list[str] = []
        try:
            for frame in container.decode(stream):
                for resampled in resampler.resample(frame):
                    buffer.append(resampled.to_ndarray())
            for resampled in resampler.resample(None):  # flush the resampler's delay line
                buffer.append(resampled.to_ndarray())
        except TooLong:
            raise _too_long(buffer.size / sample_rate, max_seconds, announced, decoding=True) from None
        except (av.error.FFmpegError, ValueError) as exc:
            decoded = buffer.size / sample_rate
            if decoded < _MIN_PARTIAL_SECONDS:
                raise ValidationError(
                    f"The audio file could not be decoded; it may be corrupt ({_reason(exc)}).",
                    field="audio_file") from None
            log.warning("decoding %s stopped after %.1fs: %s", path, decoded, exc)
            notes.append(f"The audio file is damaged after {decoded:.1f} s; only the audio before that point "
                         "was transcribed.")
    samples = buffer.result()
    if samples.shape[1] == 0:
        raise ValidationError("The audio file holds no audio samples.", field="audio_file")
    decoded = samples.shape[1] / sample_rate
    if not notes and announced is not None and decoded < 0.9 * announced - 1.0:
        notes.append(f"The audio file looks truncated: its header announces {announced:.1f} s but only "
                     f"{decoded:.1f} s could be decoded.")
    return Waveform(samples=samples, sample_rate=sample_rate, source_format=source_format,
                    notes=tuple(notes))


def probe_duration(path: Path) -> float | None:
    """Duration in seconds from the container's header (no decoding); None when it does not say."""
    return probe_audio(path).seconds


@dataclass(frozen=True)
class AudioHeader:
    """What a container's header says about its first audio stream (None: it does not say)."""

    seconds: float | None = None
    channels: int | None = None


def probe_audio(path: Path) -> AudioHeader:
    """The header's duration and channel count (no decoding); empty when the file cannot be opened."""
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                return AudioHeader()
            stream = container.streams.audio[0]
            return AudioHeader(_announced_seconds(container, stream), _channel_count(stream))
    except (av.error.FFmpegError, UnicodeDecodeError, OSError):
        return AudioHeader()


def check_limits(seconds: float | None, channels: int | None, *, max_seconds: float | None,
                 max_channels: int | None) -> None:
    """ValidationError for a recording announced longer than ``max_seconds`` or with more channels."""
    if max_seconds is not None and seconds is not None and seconds > max_seconds:
        raise _too_long(seconds, max_seconds, None)
    if max_channels is not None and channels is not None and channels > max_channels:
        raise ValidationError(f"The recording has {channels} audio channels; at most {max_channels} are accepted "
                              "(the max_channels setting). Mix it down, e.g. `ffmpeg -i IN -ac 2 OUT.wav`.",
                              field="audio_file")


class TooLong(Exception):
    """Raised by the buffer once the decoded audio passes its limit."""


def _too_long(seconds: float, max_seconds: float | None, announced: float | None, *,
              decoding: bool = False) -> ValidationError:
    accepted = f"{_duration(max_seconds or 0)} (the max_audio_seconds setting)"
    if decoding:
        said = f", although its header announces {_duration(announced)}" if announced is not None else ""
        what = f"The recording is longer than the {accepted} accepted{said}; decoding stopped there."
    else:
        what = f"The recording is {_duration(seconds)} long; at most {accepted} is accepted."
    return ValidationError(f"{what} Split it, e.g. `ffmpeg -i IN -f segment -segment_time 3600 OUT%d.wav`.",
                           field="audio_file")


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


class _Buffer:
    """A (channels, capacity) float32 array filled left to right; grows by half when the estimate
    was short (rare: only containers that misreport their duration), never past ``limit`` samples
    (TooLong instead)."""

    def __init__(self, channels: int, capacity: int, *, limit: int | None = None):
        self._data = np.empty((channels, max(capacity, SAMPLE_RATE)), dtype=np.float32)
        self.size = 0
        self.limit = limit

    def append(self, chunk: np.ndarray) -> None:
        if chunk.shape[0] != self._data.shape[0]:  # a mid-stream layout change: mix it to ours
            chunk = np.broadcast_to(chunk.mean(axis=0, keepdims=True), (self._data.shape[0], chunk.shape[1]))
        end = self.size + chunk.shape[1]
        if self.limit is not None and end > self.limit:
            self.size = end
            raise TooLong()
        if end > self._data.shape[1]:
            capacity = max(end, int(self._data.shape[1] * 1.5))
            if self.limit is not None:
                capacity = max(end, min(capacity, self.limit))
            grown = np.empty((self._data.shape[0], capacity), dtype=np.float32)
            grown[:, :self.size] = self._data[:, :self.size]
            self._data = grown
        self._data[:, self.size:end] = chunk
        self.size = end

    def result(self) -> np.ndarray:
        if self.size == self._data.shape[1]:
            return self._data
        if self.size >= 0.9 * self._data.shape[1]:
            return self._data[:, :self.size]  # a view: the spare tail is a few percent at most
        return self._data[:, :self.size].copy()


def _announced_seconds(container: object, stream: object) -> float | None:
    """The duration the container's header announces, if any."""
    import av

    seconds: float | None = None
    if getattr(stream, "duration", None) is not None and getattr(stream, "time_base", None) is not None:
        seconds = float(stream.duration * stream.time_base)
    elif getattr(container, "duration", None) is not None:
        seconds = container.duration / av.time_base
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return None
    return seconds


def _expected_samples(announced: float | None, sample_rate: int) -> int:
    if announced is None:
        return 60 * sample_rate
    return int(announced * sample_rate * _SIZE_MARGIN) + sample_rate


def _channel_count(stream: object) -> int:
    layout = getattr(stream, "layout", None)
    channels = len(layout.channels) if layout is not None and layout.channels else 0
    return channels or int(getattr(stream, "channels", 0) or 1)


def _layout_name(stream: object) -> str:
    layout = getattr(stream, "layout", None)
    if layout is not None and layout.name and layout.channels:
        return layout.name
    return "mono" if _channel_count(stream) == 1 else "stereo"


def _reason(exc: BaseException) -> str:
    # FFmpeg errors carry "[Errno n] message: 'path'"; the message alone is what helps.
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return text[0].lower() + text[1:]
