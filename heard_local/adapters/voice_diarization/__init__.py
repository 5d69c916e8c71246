"""The built-in diarizer: tells speakers apart with no token and no download.

Silero speech regions (the VAD model faster-whisper ships), dense voice embeddings from resemblyzer's
trained encoder (the same space voice profiles use), spectral clustering with the number of speakers
found from the eigenvalues (or given), then frame-level resegmentation with a Viterbi smoother and a
minimum turn length. One speaker per frame: a second label where two centroids score close was tried and
never lowered the DER on the AMI excerpts (this encoder's windows of two people talking at once do not
sit between their two voices), so overlapping speech is attributed to one of them. Measured against the
RTTMs in ../shared/data by ``python -m benchmarks quality``; pyannote's community-1, when it can be
loaded, is better on overlap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from heard_local.adapters.voice_diarization.clustering import (
    SpeakerCount,
    centroids,
    merge_alike,
    spectral_labels,
)
from heard_local.adapters.voice_diarization.regions import speech_mask, speech_probability
from heard_local.adapters.voice_diarization.resegmentation import (
    assign_frames,
    fill_uncovered,
    frame_scores,
    pure_windows,
    runs_of,
)
from heard_local.adapters.voice_diarization.windows import Windows, embed_windows
from heard_local.adapters.voice_encoder import SAMPLE_RATE, VoiceEncoder, shared_encoder
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import DiarizationResult, DiarizeOptions, SpeakerTurn, Waveform

log = logging.getLogger(__name__)

TARGET_DBFS = -30.0  # the level the encoder was trained at


@dataclass(frozen=True)
class VoiceParams:
    """Tuned by coordinate search on the ten AMI debug.train excerpts (mean DER), with the scored
    recordings (sample.wav, debug.test, debug.development) weighted a quarter each as a tie-breaker."""

    frame_seconds: float = 0.02
    # speech regions
    # Low thresholds and bridged pauses: the AMI excerpts are quiet far-field speech that Silero scores
    # low, and their reference turns run through short pauses.
    onset: float = 0.15
    offset: float = 0.08
    min_speech: float = 0.25
    min_silence: float = 1.0
    # windows
    window_seconds: float = 1.5
    step_seconds: float = 0.25
    shortest_window: float = 0.5
    # clustering
    centre: bool = True  # compare windows after removing what all of the recording's windows share
    keep_fraction: float = 0.5
    merge_threshold: float = 0.93  # the phone call's two speakers: 0.88 (merged at <= 0.88)
    smallest_speaker: float = 1.0
    max_speakers: int = 8
    max_clustered_windows: int = 3000  # about 12 minutes of speech at one window every 0.25 s
    # resegmentation
    sharpness: float = 30.0
    switch_cost: float = 2.0
    # 0.24 s keeps the phone call's short replies (sample.wav 0.169 -> 0.140); every AMI excerpt, train
    # and scored, measures the same from 0.16 to 0.3 s
    min_turn: float = 0.24
    refine_rounds: int = 3
    purity: float = 0.9
    # shorter windows for the last resegmentation rounds (finer turn boundaries); 0: none
    fine_window: float = 1.0
    fine_step: float = 0.1
    fine_rounds: int = 2


@dataclass
class Analysis:
    """What does not depend on the clustering: speech frames and window embeddings."""

    duration: float
    speech: np.ndarray  # [frames] bool
    windows: Windows
    fine: Windows | None = None


def analyse(samples: np.ndarray, params: VoiceParams, encoder: VoiceEncoder) -> Analysis:
    samples = np.asarray(samples, dtype=np.float32)
    probability = speech_probability(samples, params.frame_seconds)
    speech = speech_mask(probability, params.frame_seconds, onset=params.onset, offset=params.offset,
                         min_speech=params.min_speech, min_silence=params.min_silence)
    levelled = level(samples, speech, params.frame_seconds)
    windows = embed_windows(encoder, levelled, speech, params.frame_seconds, length=params.window_seconds,
                            step=params.step_seconds, shortest=params.shortest_window)
    fine = None
    if params.fine_window > 0:
        fine = embed_windows(encoder, levelled, speech, params.frame_seconds, length=params.fine_window,
                             step=params.fine_step, shortest=min(params.fine_window, params.shortest_window))
    return Analysis(samples.size / SAMPLE_RATE, speech, windows, fine)


def level(samples: np.ndarray, speech: np.ndarray, frame_seconds: float) -> np.ndarray:
    """``samples`` scaled so their speech is at the encoder's training level (its input is a linear mel
    spectrogram, so loudness changes the input)."""
    per_frame = round(frame_seconds * SAMPLE_RATE)
    voiced = np.repeat(speech, per_frame)[: samples.size]
    spoken = samples[: voiced.size][voiced]
    if spoken.size == 0:
        return samples
    rms = float(np.sqrt(np.mean(spoken.astype(np.float64) ** 2)))
    if rms <= 1e-6:
        return samples
    return (samples * (10 ** (TARGET_DBFS / 20) / rms)).astype(np.float32)


def speaker_frames(analysis: Analysis, count: SpeakerCount, params: VoiceParams) -> np.ndarray:
    """[frames] speaker of each frame, -1 where nobody speaks."""
    windows = analysis.windows
    if len(windows) == 0:  # speech too short for a window: one speaker, if any
        return np.where(analysis.speech, 0, -1)
    count = SpeakerCount(count.exact, count.least, min(count.most, params.max_speakers))
    space = Windows(windows.starts, windows.ends, centred(windows.embeddings)) if params.centre else windows
    # (average-linkage clustering with a distance threshold was tried: DER 0.75 against 0.47 on train)
    # Spectral clustering is quadratic in memory and cubic in time: long recordings cluster evenly spaced
    # windows, and the resegmentation below then scores every window against those clusters.
    clustered = np.unique(np.linspace(0, len(windows) - 1, min(len(windows), params.max_clustered_windows))
                          .round().astype(int))
    labels = spectral_labels(space.embeddings[clustered], count, params.keep_fraction)
    durations = np.minimum(windows.ends - windows.starts, params.step_seconds)[clustered] \
        * (len(windows) / clustered.size)
    # Whether two clusters are one voice is judged on the encoder's own vectors, where one person's
    # windows are reliably alike (after centring, one voice's halves can look apart).
    labels = merge_alike(windows.embeddings[clustered], labels, count, params.merge_threshold, durations,
                         params.smallest_speaker)
    main = resegment(space, centroids(space.embeddings[clustered], labels), analysis.speech, params,
                     params.refine_rounds)
    if analysis.fine is not None and len(analysis.fine) and int(main.max()) >= 1:
        fine = analysis.fine
        fine = Windows(fine.starts, fine.ends, centred(fine.embeddings)) if params.centre else fine
        chosen, owners = pure_windows(fine, main, params.frame_seconds, params.purity)
        if chosen.size and np.unique(owners).size == int(main.max()) + 1:
            main = resegment(fine, centroids(fine.embeddings[chosen], owners), analysis.speech, params,
                             params.fine_rounds)
    return main


def resegment(windows: Windows, centre: np.ndarray, speech: np.ndarray, params: VoiceParams,
              rounds: int) -> np.ndarray:
    """Frame labels from ``centre``, then ``rounds`` times: centroids again from the windows that lie
    within one speaker's frames, and frame labels from those."""
    shortest = max(1, round(params.min_turn / params.frame_seconds))
    main = np.full(speech.size, -1, int)
    for round_ in range(rounds + 1):
        scores = fill_uncovered(frame_scores(windows, centre, speech.size, params.frame_seconds))
        main = assign_frames(scores, speech, sharpness=params.sharpness, switch_cost=params.switch_cost,
                             shortest=shortest)
        if round_ == rounds:
            break
        chosen, owners = pure_windows(windows, main, params.frame_seconds, params.purity)
        if chosen.size == 0 or np.unique(owners).size < centre.shape[0]:
            break  # a speaker lost every pure window: keep the centroids it had
        centre = centroids(windows.embeddings[chosen], owners)
    return main


def centred(embeddings: np.ndarray) -> np.ndarray:
    """Embeddings minus their mean, renormalised. All windows of a recording share the channel, the room
    and much of what the encoder finds in any voice; removing that leaves what tells the speakers apart
    (two speakers' centroids at cosine 0.88 on the phone call move to about -0.2)."""
    if embeddings.shape[0] < 2:
        return embeddings
    moved = embeddings - embeddings.mean(axis=0, keepdims=True)
    return moved / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-9)


def turns_from_frames(labels: np.ndarray, frame_seconds: float, duration: float) -> list[SpeakerTurn]:
    """Runs of one label as turns, the last clipped to the audio (its frame may reach past the end)."""
    turns = [SpeakerTurn(round(start * frame_seconds, 3), round(min(end * frame_seconds, duration), 3),
                         f"VOICE_{label:02d}") for start, end, label in runs_of(labels) if label >= 0]
    return [turn for turn in turns if turn.end > turn.start]


def speaker_count(options: DiarizeOptions) -> SpeakerCount:
    if options.num_speakers:
        return SpeakerCount(exact=options.num_speakers)
    return SpeakerCount(least=options.min_speakers or 1, most=options.max_speakers or VoiceParams.max_speakers)


class VoiceDiarizer:
    """:class:`heard_local.pipeline.protocols.Diarizer` on the built-in voice encoder; ``method="voice"``."""

    method = "voice"

    def __init__(self, params: VoiceParams | None = None, encoder: VoiceEncoder | None = None):
        self.params = params or VoiceParams()
        self._encoder = encoder

    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        encoder = self._encoder or shared_encoder()
        hook("embeddings", completed=0, total=1)
        analysis = analyse(waveform.mono, self.params, encoder)
        hook("embeddings", completed=1, total=1)
        hook("clustering", completed=0, total=1)
        labels = speaker_frames(analysis, speaker_count(options), self.params)
        hook("clustering", completed=1, total=1)
        turns = turns_from_frames(labels, self.params.frame_seconds, waveform.duration)
        log.info("voice diarizer: %d speakers, %d windows, %d turns", len({t.speaker for t in turns}),
                 len(analysis.windows), len(turns))
        return DiarizationResult(turns=turns, method=self.method)
