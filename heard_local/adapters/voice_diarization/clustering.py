"""Grouping window embeddings into speakers, with the number of speakers found from the data unless the
caller says it (``num_speakers``) or bounds it (``min_speakers`` / ``max_speakers``).

Spectral clustering on the cosine affinity, refined as in Wang et al., "Speaker Diarization with LSTM"
(ICASSP 2018, the d-vector paper this encoder family comes from): each row keeps only its strongest
neighbours, the matrix is symmetrised and diffused, and the number of speakers is the largest relative
gap in the eigenvalues. Then clusters whose centroids are as alike as one voice's windows are merged,
which is what keeps a one-person recording one person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpeakerCount:
    exact: int | None = None
    least: int = 1
    most: int = 8

    def bounds(self, windows: int) -> tuple[int, int]:
        if self.exact is not None:
            return min(self.exact, windows), min(self.exact, windows)
        most = max(1, min(self.most, windows))
        return min(max(1, self.least), most), most


def refined_affinity(embeddings: np.ndarray, keep_fraction: float) -> np.ndarray:
    similarity = np.clip(embeddings @ embeddings.T, 0.0, 1.0)
    n = similarity.shape[0]
    keep = max(2, int(np.ceil(keep_fraction * n)))
    # Row-wise: keep each window's ``keep`` strongest neighbours, damp the rest.
    order = np.argsort(-similarity, axis=1)
    damped = similarity * 0.01
    rows = np.arange(n)[:, None]
    damped[rows, order[:, :keep]] = similarity[rows, order[:, :keep]]
    symmetric = np.maximum(damped, damped.T)
    diffused = symmetric @ symmetric.T
    return diffused / np.maximum(diffused.max(axis=1, keepdims=True), 1e-9)


def spectral_labels(embeddings: np.ndarray, count: SpeakerCount, keep_fraction: float,
                    seed: int = 0) -> np.ndarray:
    n = embeddings.shape[0]
    least, most = count.bounds(n)
    if n < 2 or most == 1:
        return np.zeros(n, int)
    affinity = refined_affinity(embeddings, keep_fraction)
    affinity = (affinity + affinity.T) / 2
    degree = affinity.sum(axis=1)
    inverse_root = 1.0 / np.sqrt(np.maximum(degree, 1e-9))
    laplacian = np.eye(n) - inverse_root[:, None] * affinity * inverse_root[None, :]
    values, vectors = np.linalg.eigh(laplacian)  # ascending
    if least == most:
        k = least
    else:
        most = min(most, n - 1)
        gaps = values[1:most + 1] - values[:most]  # gap after the k-th smallest eigenvalue, k = 1..most
        candidates = np.arange(1, gaps.size + 1)
        allowed = candidates >= least
        k = int(candidates[allowed][np.argmax(gaps[allowed])])
    if k == 1:
        return np.zeros(n, int)
    points = vectors[:, :k]
    points = points / np.maximum(np.linalg.norm(points, axis=1, keepdims=True), 1e-9)
    return kmeans(points, k, seed)


def kmeans(points: np.ndarray, k: int, seed: int, rounds: int = 10) -> np.ndarray:
    """k-means++ with a few restarts, best inertia wins (scipy's kmeans2 has no restarts)."""
    best_labels = np.zeros(points.shape[0], int)
    best_inertia = np.inf
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        centres = [points[rng.integers(points.shape[0])]]
        for _ in range(1, k):
            distance = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
            total = distance.sum()
            pick = rng.choice(points.shape[0], p=distance / total) if total > 0 else rng.integers(points.shape[0])
            centres.append(points[pick])
        centre = np.stack(centres)
        for _ in range(50):
            labels = np.argmin(((points[:, None, :] - centre[None]) ** 2).sum(axis=2), axis=1)
            moved = np.stack([points[labels == j].mean(axis=0) if np.any(labels == j) else centre[j]
                              for j in range(k)])
            if np.allclose(moved, centre):
                break
            centre = moved
        inertia = float(((points - centre[labels]) ** 2).sum())
        if inertia < best_inertia:
            best_inertia, best_labels = inertia, labels
    return best_labels


def centroids(embeddings: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """One L2-normalised mean voice per label (labels 0..k-1)."""
    weights = np.ones(labels.size) if weights is None else weights
    k = int(labels.max()) + 1 if labels.size else 0
    means = np.stack([(embeddings[labels == j] * weights[labels == j, None]).sum(axis=0) for j in range(k)]) \
        if k else np.zeros((0, embeddings.shape[1]))
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)


def merge_alike(embeddings: np.ndarray, labels: np.ndarray, count: SpeakerCount, threshold: float,
                durations: np.ndarray, smallest: float) -> np.ndarray:
    """Merge the two most alike clusters while their centroids' cosine is above ``threshold``, and fold
    clusters with under ``smallest`` seconds of speech into their nearest neighbour (a cough, a laugh),
    never going below the count's lower bound."""
    least, _ = count.bounds(labels.size)
    labels = relabel(labels)
    while labels.size and int(labels.max()) + 1 > least:
        centre = centroids(embeddings, labels)
        k = centre.shape[0]
        similarity = centre @ centre.T
        np.fill_diagonal(similarity, -np.inf)
        seconds = np.array([durations[labels == j].sum() for j in range(k)])
        tiny = int(np.argmin(seconds))
        if count.exact is None and seconds[tiny] < smallest:
            target = int(np.argmax(similarity[tiny]))
            labels = relabel(np.where(labels == tiny, target, labels))
            continue
        a, b = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        if count.exact is not None or similarity[a, b] < threshold:
            break
        labels = relabel(np.where(labels == b, a, labels))
    return labels


def relabel(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..k-1 in order of first appearance."""
    order = {int(v): i for i, v in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[int(v)] for v in labels], int)
