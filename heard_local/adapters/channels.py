"""Diarization of call recordings that carry one party per channel: exact and nearly free.

Contact-centre systems usually record the agent on one channel and the customer on the other. Then
"who spoke when" is "which channel has speech when", read from each channel's short-time energy, with
three refinements: a threshold adapted to each channel's own noise floor and peak, crosstalk removal (a
frame is not speech on a channel when the other channel is much louder: that is the other party leaking
in), and smoothing (pauses between words are bridged, clicks dropped).

:func:`analyse_channels` also decides whether a multi-channel recording is such a call at all: a stereo
microphone, or mono audio copied to both channels, has the same speech on every channel at similar
levels, and then a speaker model must do the work instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import ChannelLayout, DiarizationResult, DiarizeOptions, SpeakerTurn, Waveform

FRAME_SECONDS = 0.01
# A frame is speech when it is this far above the channel's noise floor…
ABOVE_FLOOR_DB = 12.0
# …and no more than this far below the channel's loud speech.
BELOW_PEAK_DB = 45.0
# A frame where another channel is this much louder is that channel's speech leaking in.
CROSSTALK_DB = 15.0
# Pauses shorter than this inside one party's speech are bridged; bursts shorter than that are dropped.
BRIDGE_SECONDS = 0.5
MIN_TURN_SECONDS = 0.12
# Deciding "one party per channel": each channel needs this much speech of its own…
MIN_CHANNEL_SPEECH_SECONDS = 0.5
# …and the channels' loudness must not move together: the same speech on every channel (a stereo
# microphone, mono copied twice) correlates near 1; separate parties near or below 0, even when they talk
# at the same time.
SAME_SPEECH_CORRELATION = 0.6
MAX_CHANNELS = 8


@dataclass
class ChannelAnalysis:
    separate: bool
    reason: str
    speech_seconds: list[float]
    correlation: float


def frame_energy_db(samples: np.ndarray, sample_rate: int, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """(channels, frames) mean power per frame in dB, computed without a squared copy of the audio."""
    size = round(sample_rate * frame_seconds)
    frames = samples.shape[1] // size
    if frames == 0:
        return np.zeros((samples.shape[0], 0), dtype=np.float32)
    power = np.empty((samples.shape[0], frames), dtype=np.float32)
    block = max(1, 1_000_000 // size)  # frames per block: bounded temporary memory on hour-long files
    for channel in range(samples.shape[0]):
        framed = samples[channel, :frames * size].reshape(frames, size)
        for start in range(0, frames, block):
            part = framed[start:start + block].astype(np.float32, copy=False)
            power[channel, start:start + block] = np.einsum("fs,fs->f", part, part) / size
    return (10.0 * np.log10(power + 1e-12)).astype(np.float32)


def raw_activity(energy_db: np.ndarray) -> np.ndarray:
    """Per channel, frames above a threshold adapted to that channel's noise floor and peak."""
    active = np.zeros(energy_db.shape, dtype=bool)
    for channel, energy in enumerate(energy_db):
        if energy.size == 0:
            continue
        floor = float(np.percentile(energy, 10))
        peak = float(np.percentile(energy, 99.5))
        threshold = max(floor + ABOVE_FLOOR_DB, peak - BELOW_PEAK_DB)
        active[channel] = energy > threshold
    return active


def remove_crosstalk(active: np.ndarray, energy_db: np.ndarray) -> np.ndarray:
    loudest_other = np.full(energy_db.shape, -np.inf, dtype=np.float32)
    for channel in range(energy_db.shape[0]):
        others = np.delete(energy_db, channel, axis=0)
        if others.size:
            loudest_other[channel] = others.max(axis=0)
    return active & ~(loudest_other - energy_db > CROSSTALK_DB)


def smooth(active: np.ndarray, frame_seconds: float = FRAME_SECONDS) -> list[tuple[int, int]]:
    """Runs (start, end) frame indices of one channel's activity, gaps bridged and blips dropped."""
    runs = _runs(active)
    bridged: list[tuple[int, int]] = []
    bridge = round(BRIDGE_SECONDS / frame_seconds)
    for start, end in runs:
        if bridged and start - bridged[-1][1] <= bridge:
            bridged[-1] = (bridged[-1][0], end)
        else:
            bridged.append((start, end))
    shortest = round(MIN_TURN_SECONDS / frame_seconds)
    return [(s, e) for s, e in bridged if e - s >= shortest]


def _runs(active: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], active, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def analyse_channels(waveform: Waveform) -> ChannelAnalysis:
    """Does each channel carry its own party? (See the module docstring.)"""
    if not 2 <= waveform.channels <= MAX_CHANNELS:
        return ChannelAnalysis(False, f"{waveform.channels} channel(s)", [], 1.0)
    energy = frame_energy_db(waveform.samples, waveform.sample_rate)
    active = raw_activity(energy)
    speech = [float(a.sum()) * FRAME_SECONDS for a in active]
    if min(speech) < MIN_CHANNEL_SPEECH_SECONDS:
        return ChannelAnalysis(False, "a channel holds (almost) no speech", speech, 1.0)
    correlation = envelope_correlation(energy, active.any(axis=0))
    if correlation >= SAME_SPEECH_CORRELATION:
        return ChannelAnalysis(False, f"the channels carry the same speech (loudness correlation "
                                      f"{correlation:.2f})", speech, correlation)
    return ChannelAnalysis(True, f"one party per channel (loudness correlation {correlation:.2f})", speech,
                           correlation)


def envelope_correlation(energy_db: np.ndarray, frames: np.ndarray) -> float:
    """The highest correlation between two channels' loudness over the given frames: near 1 when they
    carry the same speech (whatever the gains or small delays), low or negative for separate parties."""
    if frames.sum() < 2:
        return 1.0
    selected = energy_db[:, frames].astype(np.float64)
    if np.any(selected.std(axis=1) < 1e-6):
        return 1.0
    matrix = np.corrcoef(selected)
    np.fill_diagonal(matrix, -1.0)
    return float(matrix.max())


def channel_turns(waveform: Waveform) -> list[SpeakerTurn]:
    """Speaker turns labelled ``channel_<n>`` (n from 0), sorted by start."""
    energy = frame_energy_db(waveform.samples, waveform.sample_rate)
    active = remove_crosstalk(raw_activity(energy), energy)
    turns = [
        SpeakerTurn(start=round(s * FRAME_SECONDS, 3), end=round(e * FRAME_SECONDS, 3), speaker=channel_label(c))
        for c in range(waveform.channels) for s, e in smooth(active[c])
    ]
    return sorted(turns, key=lambda t: (t.start, t.end))


def channel_label(channel: int) -> str:
    return f"channel_{channel}"


class ChannelLayoutAnalyser:
    """:class:`heard_local.pipeline.protocols.ChannelAnalyser`: :func:`analyse_channels` as a layout whose
    labels are the ones :class:`ChannelDiarizer` gives each channel's turns (and roles)."""

    def analyse(self, waveform: Waveform) -> ChannelLayout:
        analysis = analyse_channels(waveform)
        labels = tuple(channel_label(c) for c in range(waveform.channels)) if analysis.separate else ()
        return ChannelLayout(separate=analysis.separate, reason=analysis.reason, labels=labels)


class ChannelDiarizer:
    """:class:`heard_local.pipeline.protocols.Diarizer` for one-party-per-channel recordings."""

    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        hook("channels", completed=0, total=1)
        turns = channel_turns(waveform)
        hook("channels", completed=1, total=1)
        return DiarizationResult(turns=turns, method="channels", roles=channel_roles(waveform.channels, options))


def channel_roles(channels: int, options: DiarizeOptions) -> dict[str, str]:
    """With an agent named (or the agent's channel given), the agent's channel is "Agent" and, on a
    two-channel call, the other is "Customer". The agent is on the first (left) channel unless
    ``agent_channel`` says otherwise."""
    if options.agent_name is None and options.agent_channel is None:
        return {}
    agent = options.agent_channel if options.agent_channel is not None else 0
    if not 0 <= agent < channels:
        return {}
    roles = {channel_label(agent): "Agent"}
    if channels == 2:
        roles[channel_label(1 - agent)] = "Customer"
    return roles
