"""From clustered windows to who speaks in each 20 ms frame.

Each window is compared with every speaker's centroid; a frame's score for a speaker is the average over
the windows that cover it, weighted towards each window's centre (the middle of a window says most about
that moment). A Viterbi pass over the speech frames then picks one speaker per frame with a cost for
every change, so a turn does not flicker on one odd window; turns shorter than a minimum go to the
neighbour they most resemble.
"""

from __future__ import annotations

import numpy as np

from heard_local.adapters.voice_diarization.windows import Windows


def frame_scores(windows: Windows, centre: np.ndarray, frames: int, frame_seconds: float) -> np.ndarray:
    """[frames, speakers] cosine similarity of each frame to each speaker (NaN where no window covers)."""
    similarity = windows.embeddings @ centre.T  # [windows, speakers]
    total = np.zeros((frames, centre.shape[0]))
    weight = np.zeros(frames)
    for index in range(len(windows)):
        first = int(np.floor(windows.starts[index] / frame_seconds))
        last = min(frames, int(np.ceil(windows.ends[index] / frame_seconds)))
        if last <= first:
            continue
        positions = (np.arange(first, last) + 0.5) * frame_seconds
        half = max((windows.ends[index] - windows.starts[index]) / 2, frame_seconds)
        taper = np.clip(1.0 - np.abs(positions - windows.centres[index]) / half, 0.05, 1.0)
        total[first:last] += taper[:, None] * similarity[index][None, :]
        weight[first:last] += taper
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = total / weight[:, None]
    scores[weight == 0] = np.nan
    return scores


def fill_uncovered(scores: np.ndarray) -> np.ndarray:
    """Frames no window covers take the scores of the nearest frame that one does."""
    covered = np.flatnonzero(~np.isnan(scores[:, 0])) if scores.size else np.zeros(0, int)
    if covered.size == 0:
        return np.zeros_like(scores)
    nearest = np.searchsorted(covered, np.arange(scores.shape[0]))
    left = covered[np.clip(nearest - 1, 0, covered.size - 1)]
    right = covered[np.clip(nearest, 0, covered.size - 1)]
    pick = np.where(np.abs(np.arange(scores.shape[0]) - left) <= np.abs(right - np.arange(scores.shape[0])),
                    left, right)
    return scores[pick]


def viterbi(scores: np.ndarray, sharpness: float, switch_cost: float) -> np.ndarray:
    """Most likely speaker sequence: log-likelihood ``sharpness * score`` per frame, ``switch_cost`` per
    change of speaker."""
    frames, speakers = scores.shape
    if frames == 0:
        return np.zeros(0, int)
    emission = sharpness * scores
    cost = emission[0].copy()
    back = np.zeros((frames, speakers), int)
    for t in range(1, frames):
        stay = cost
        best = int(np.argmax(cost))
        switch = cost[best] - switch_cost
        back[t] = np.where(stay >= switch, np.arange(speakers), best)
        cost = np.maximum(stay, switch) + emission[t]
    path = np.zeros(frames, int)
    path[-1] = int(np.argmax(cost))
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def drop_short_turns(path: np.ndarray, scores: np.ndarray, shortest: int) -> np.ndarray:
    """Turns under ``shortest`` frames become the neighbouring speaker that scores higher over them."""
    path = path.copy()
    changed = True
    while changed and path.size:
        changed = False
        turns = runs_of(path)
        for index, (start, end, _label) in enumerate(turns):
            if end - start >= shortest or len(turns) == 1:
                continue
            neighbours = [turns[i][2] for i in (index - 1, index + 1) if 0 <= i < len(turns)]
            path[start:end] = max(neighbours, key=lambda k: float(scores[start:end, k].sum()))
            changed = True
            break
    return path


def runs_of(path: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, end, label) runs of equal labels."""
    if path.size == 0:
        return []
    edges = np.flatnonzero(np.diff(path)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [path.size]])
    return [(int(s), int(e), int(path[s])) for s, e in zip(starts, ends, strict=True)]


def assign_frames(scores: np.ndarray, speech: np.ndarray, *, sharpness: float, switch_cost: float,
                  shortest: int) -> np.ndarray:
    """[frames] speaker per frame, -1 outside speech. Viterbi runs over the speech frames as one sequence
    (a pause neither forces nor forbids a change)."""
    labels = np.full(speech.size, -1, int)
    where = np.flatnonzero(speech)
    if where.size == 0 or scores.shape[1] == 0:
        return labels
    speech_scores = scores[where]
    path = viterbi(speech_scores, sharpness, switch_cost)
    path = drop_short_turns(path, speech_scores, shortest)
    labels[where] = path
    return labels


def pure_windows(windows: Windows, labels: np.ndarray, frame_seconds: float,
                 purity: float) -> tuple[np.ndarray, np.ndarray]:
    """(indices, labels) of the windows whose frames are at least ``purity`` one speaker: the windows
    that can stand for a speaker when the centroids are recomputed."""
    chosen: list[int] = []
    owners: list[int] = []
    for index in range(len(windows)):
        first = int(windows.starts[index] / frame_seconds)
        last = max(first + 1, int(windows.ends[index] / frame_seconds))
        inside = labels[first:last]
        inside = inside[inside >= 0]
        if inside.size == 0:
            continue
        counts = np.bincount(inside)
        if counts.max() >= purity * inside.size:
            chosen.append(index)
            owners.append(int(np.argmax(counts)))
    return np.asarray(chosen, int), np.asarray(owners, int)
