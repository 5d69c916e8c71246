"""Second pass over the segmentation pipeline's output: who speaks is decided again from dense CAM++ windows.

Why: segmentation-3.0 separates speakers only inside each 10 s window, and on far-field meetings it often
hears two people as one local speaker there; no clustering of its local speakers can undo that (handed
the true speakers, pyannote's ``OracleClustering`` still confuses 28% of AMI dev01). Its speech and overlap
detection, on the other hand, is the best this package has. So:

1. speech frames, and how many people talk in each, come from the pipeline;
2. CAM++ embeds 1.5 s windows every 0.5 s (and 1.0 s every 0.2 s) over that speech, and the voice
   diarizer's clustering and Viterbi resegmentation (:mod:`heard_local.adapters.voice_diarization`) give
   one speaker per frame, the count found from the windows or taken from the caller's hints;
3. where the pipeline hears two people at once, the next most alike speaker is added;
4. speakers the pipeline found that no window cluster matches (people who only say a few words: the
   windows' clustering folds them into someone else) are kept, with the frames the pipeline gives them
   alone.

Chosen on the ten AMI debug.train excerpts (``python -m benchmarks.builtin_sweep``); measured in the README
and by ``python -m benchmarks quality``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heard_local.adapters.voice_diarization import Analysis, VoiceParams, speaker_frames
from heard_local.adapters.voice_diarization.clustering import SpeakerCount, centroids
from heard_local.adapters.voice_diarization.resegmentation import (
    fill_uncovered,
    frame_scores,
    pure_windows,
    runs_of,
)
from heard_local.adapters.voice_diarization.windows import SpanEncoder, embed_windows
from heard_local.pipeline.protocols import SpeakerTurn

FRAME_SECONDS = 0.02


@dataclass(frozen=True)
class RefineParams:
    # 1.5 s windows every 0.5 s to cluster, 1.0 s every 0.2 s for the last resegmentation rounds (finer
    # turn edges): on train as good as every 0.25 / 0.1 s (0.388 vs 0.391) for 30% less embedding time;
    # without the fine windows train is 0.388 too but the scored recordings lose 0.02
    window_seconds: float = 1.5
    step_seconds: float = 0.5
    fine_window: float = 1.0
    fine_step: float = 0.2
    shortest_window: float = 0.5
    # cosine of two window clusters' centroids above which they are one voice (CAM++'s scale; resemblyzer's
    # is 0.93): 0.7 splits voices, 0.9 keeps echoes of one (train mean DER 0.44 / 0.39 / 0.44)
    merge_threshold: float = 0.8
    # a frame's second speaker must be this sure, as a share of the windows that hear overlap
    purity: float = 0.9

    def voice_params(self) -> VoiceParams:
        return VoiceParams(frame_seconds=FRAME_SECONDS, window_seconds=self.window_seconds,
                           step_seconds=self.step_seconds, shortest_window=self.shortest_window,
                           merge_threshold=self.merge_threshold, fine_window=self.fine_window,
                           fine_step=self.fine_step, purity=self.purity)


@dataclass
class Refined:
    turns: list[SpeakerTurn]  # one speaker at a time
    overlapping_turns: list[SpeakerTurn]


def refine(samples: np.ndarray, pipeline_turns: list[SpeakerTurn], count: SpeakerCount, encoder: SpanEncoder,
           params: RefineParams | None = None) -> Refined:
    """``pipeline_turns``: the segmentation pipeline's overlap-aware turns over ``samples`` (16 kHz)."""
    params = params or RefineParams()
    duration = samples.size / 16_000
    frames = int(np.ceil(duration / FRAME_SECONDS))
    heard = activity(pipeline_turns, frames)  # [frames, pipeline speakers]
    speech = heard.any(axis=1)
    if heard.shape[1] == 0:
        return Refined([], [])
    voice = params.voice_params()
    windows = embed_windows(encoder, samples, speech, FRAME_SECONDS, length=params.window_seconds,
                            step=params.step_seconds, shortest=params.shortest_window)
    fine = None
    if params.fine_window > 0:
        fine = embed_windows(encoder, samples, speech, FRAME_SECONDS, length=params.fine_window,
                             step=params.fine_step, shortest=min(params.fine_window, params.shortest_window))
    analysis = Analysis(duration, speech, windows, fine)
    main = speaker_frames(analysis, count, voice)  # [frames] one speaker, -1 in silence
    speakers = max(int(main.max()) + 1, 1)
    active = np.zeros((frames, speakers), bool)
    voiced = np.flatnonzero(main >= 0)
    active[voiced, main[voiced]] = True
    add_second_speakers(active, main, heard.sum(axis=1) >= 2, analysis, params)
    exclusive = main.copy()
    for column in unmatched(heard, active):
        alone = heard[:, column] & (heard.sum(axis=1) == 1)
        active[alone] = False
        active = np.concatenate([active, heard[:, [column]]], axis=1)
        exclusive[alone] = active.shape[1] - 1
    names = speaker_names(active)
    exclusive_active = np.zeros_like(active)
    voiced = np.flatnonzero(exclusive >= 0)
    exclusive_active[voiced, exclusive[voiced]] = True
    return Refined(turns_of(exclusive_active, names, duration), turns_of(active, names, duration))


def activity(turns: list[SpeakerTurn], frames: int) -> np.ndarray:
    """[frames, speakers] who speaks in each frame, speakers in order of their labels."""
    labels = sorted({turn.speaker for turn in turns})
    heard = np.zeros((frames, len(labels)), bool)
    for turn in turns:
        first = int(np.floor(turn.start / FRAME_SECONDS))
        last = min(frames, int(np.ceil(turn.end / FRAME_SECONDS)))
        heard[first:last, labels.index(turn.speaker)] = True
    return heard


def add_second_speakers(active: np.ndarray, main: np.ndarray, overlapped: np.ndarray, analysis: Analysis,
                        params: RefineParams) -> None:
    """In place: in overlapped frames, also the speaker whose centroid the frame's windows are next
    closest to."""
    speakers = active.shape[1]
    windows = analysis.fine if analysis.fine is not None and len(analysis.fine) else analysis.windows
    if speakers < 2 or not overlapped.any() or len(windows) == 0:
        return
    chosen, owners = pure_windows(windows, main, FRAME_SECONDS, params.purity)
    if np.unique(owners).size < speakers:
        return  # a speaker without a window of its own has no reliable centroid
    scores = fill_uncovered(frame_scores(windows, centroids(windows.embeddings[chosen], owners), main.size,
                                         FRAME_SECONDS))
    where = np.flatnonzero(overlapped & (main >= 0))
    others = scores[where].copy()
    others[np.arange(where.size), main[where]] = -np.inf
    active[where, np.argmax(others, axis=1)] = True


def unmatched(heard: np.ndarray, active: np.ndarray) -> list[int]:
    """The pipeline's speakers left over when each window speaker is paired with the pipeline speaker it
    shares most frames with (one to one)."""
    from scipy.optimize import linear_sum_assignment

    if heard.shape[1] <= active.shape[1]:
        return []
    shared = heard.T.astype(np.float64) @ active.astype(np.float64)  # [pipeline, window speakers]
    paired, _ = linear_sum_assignment(-shared)
    return [column for column in range(heard.shape[1]) if column not in set(paired.tolist())]


def speaker_names(active: np.ndarray) -> list[str]:
    """SPEAKER_00, SPEAKER_01, ... in the order people first speak (pyannote's label format)."""
    first = [int(np.argmax(active[:, k])) if active[:, k].any() else active.shape[0] for k in range(active.shape[1])]
    order = sorted(range(active.shape[1]), key=lambda k: first[k])
    names = [""] * active.shape[1]
    for rank, column in enumerate(order):
        names[column] = f"SPEAKER_{rank:02d}"
    return names


def turns_of(active: np.ndarray, names: list[str], duration: float) -> list[SpeakerTurn]:
    turns = []
    for column, name in enumerate(names):
        for start, end, on in runs_of(active[:, column].astype(int)):
            if on:
                turn = SpeakerTurn(start=round(start * FRAME_SECONDS, 3),
                                   end=round(min(end * FRAME_SECONDS, duration), 3), speaker=name)
                if turn.end > turn.start:
                    turns.append(turn)
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
