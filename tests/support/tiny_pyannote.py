"""A random-weight pyannote.audio speaker-diarization pipeline directory, built offline.

No pyannote weights can reach this machine, so tests and benchmarks build their own pipeline directory
laid out like ``pyannote/speaker-diarization-community-1``::

    <directory>/config.yaml                    SpeakerDiarization, VBxClustering, ``$model/...`` children
    <directory>/segmentation/pytorch_model.bin PyanNet (segmentation-3.0 sizes), powerset 3 speakers / 2 max
    <directory>/embedding/pytorch_model.bin    XVectorMFCC (cheap) or WeSpeakerResNet34 (community-1's)
    <directory>/plda/xvec_transform.npz        centering + LDA (256 -> 128) for VBx
    <directory>/plda/plda.npz                  PLDA (mu, tr, psi) for VBx

and loaded through the same ``pyannote.audio.Pipeline.from_pretrained(directory)`` code users run.
Compute cost does not depend on the weights' values, so the ``wespeaker`` variant costs what the real
community-1 pipeline costs and timings measured on it are honest.

Default random weights would make the segmentation output one class everywhere whatever the audio
(nothing for clustering to do): the segmentation model is rescaled and its classifier calibrated on a
synthetic signal so its powerset decisions follow the input (speech, pauses, overlaps, speaker changes
that differ between recordings; silence gives "nobody speaks"). Its turns are much choppier than a
trained model's; the third local speaker and overlaps are rare, as in real conversations.

Checkpoint file names avoid "wespeaker", "speechbrain" and "nvidia": pyannote routes strings containing
them to third-party loaders (the ``$model/embedding`` entry becomes a dict, which is never routed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

EmbeddingKind = Literal["xvector", "wespeaker"]

EMBEDDING_DIMENSION = 256  # community-1's WeSpeakerResNet34 output size; the xvector variant matches it
LDA_DIMENSION = 128  # pyannote.audio.core.plda.PLDA's default lda_dimension
SEGMENTATION_DURATION = 10.0  # seconds per chunk, as segmentation-3.0

# community-1's config.yaml (pipeline params and hyper-parameters), with batch sizes as shipped.
CONFIG_YAML = """\
dependencies:
  pyannote.audio: {version}
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    segmentation: $model/segmentation
    segmentation_batch_size: 32
    embedding: $model/embedding
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    plda: $model/plda
params:
  clustering:
    threshold: 0.6
    Fa: 0.07
    Fb: 0.8
  segmentation:
    min_duration_off: 0.0
"""


def build_tiny_pyannote_pipeline(directory: Path, *, embedding: EmbeddingKind = "xvector", seed: int = 0) -> Path:
    """Write a random-weight SpeakerDiarization pipeline directory and return the path to load.

    ``embedding="xvector"``: a cheap XVectorMFCC embedding (fast tests, ~2 s per 20 s of audio on 2 cores).
    ``embedding="wespeaker"``: community-1's WeSpeakerResNet34, whose compute cost equals the real one.
    The same ``seed`` gives byte-identical weights. The global torch RNG state is left as it was.
    """
    if embedding not in ("xvector", "wespeaker"):
        raise ValueError(f"embedding must be 'xvector' or 'wespeaker', not {embedding!r}")
    import pyannote.audio

    directory = Path(directory)
    for sub in ("segmentation", "embedding", "plda"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _save_checkpoint(_segmentation_model(rng), directory / "segmentation" / "pytorch_model.bin")
        _save_checkpoint(_embedding_model(embedding), directory / "embedding" / "pytorch_model.bin")
    _write_plda(directory / "plda", rng)
    (directory / "config.yaml").write_text(CONFIG_YAML.format(version=pyannote.audio.__version__), encoding="utf-8")
    return directory


def _segmentation_model(rng: np.random.Generator) -> torch.nn.Module:
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    model = PyanNet(
        sincnet={"stride": 10},
        lstm={"hidden_size": 128, "num_layers": 4, "bidirectional": True, "monolithic": True, "dropout": 0.5},
        linear={"hidden_size": 128, "num_layers": 2},
    )
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=SEGMENTATION_DURATION,
        min_duration=SEGMENTATION_DURATION,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.build()
    model.eval()
    _make_segmentation_follow_input(model, rng)
    return model


# How often each powerset class ({}, {1}, {2}, {3}, {1,2}, {1,3}, {2,3}) wins on the calibration
# signal: mostly one speaker at a time, a third speaker and overlaps rare, as in real conversations.
POWERSET_PRIORS = torch.tensor([0.2, 0.35, 0.3, 0.05, 0.07, 0.02, 0.01])


def _make_segmentation_follow_input(model: Any, rng: np.random.Generator) -> None:
    """Default init gives one powerset class everywhere whatever the audio (the 4-layer LSTM damps its
    input to near-constant states). Larger input weights make the states follow the audio; the classifier
    is then centred and scaled on a synthetic calibration signal, its biases set so the classes win about
    as often as ``POWERSET_PRIORS``, and silence made to come out as "nobody speaks"."""
    import torch.nn.functional as F
    from einops import rearrange

    calibration = torch.from_numpy(np.stack([_synthetic_voice(rng) for _ in range(8)]))[:, None]
    silence = torch.zeros(1, 1, calibration.shape[-1])
    with torch.no_grad():
        for name, parameter in model.lstm.named_parameters():
            if name.startswith("weight_ih"):
                parameter.mul_(8.0)
        for linear in model.linear:
            linear.weight.mul_(4.0)

        def hidden(waveforms: torch.Tensor) -> torch.Tensor:
            outputs, _ = model.lstm(rearrange(model.sincnet(waveforms), "b f t -> b t f"))
            for linear in model.linear:
                outputs = F.leaky_relu(linear(outputs))
            return outputs.reshape(-1, outputs.shape[-1])

        states, silent_states = hidden(calibration), hidden(silence)
        weight, bias = model.classifier.weight, model.classifier.bias
        weight.mul_(3.0 / float((states @ weight.T).std(0).mean()))
        bias.copy_(-(states @ weight.T).mean(0))
        # "nobody speaks" grows along the direction from typical states to the silent ones, so silence
        # (and audio close to it) wins class 0 without making class 0 win everywhere
        towards_silence = silent_states.mean(0) - states.mean(0)
        towards_silence /= towards_silence.norm() ** 2
        for _ in range(5):
            for _ in range(50):
                wins = torch.bincount((states @ weight.T + bias).argmax(-1), minlength=len(POWERSET_PRIORS))
                bias += 0.5 * torch.log((POWERSET_PRIORS + 1e-3) / (wins / len(states) + 1e-3))
            silent_logits = silent_states @ weight.T + bias
            margin = float((silent_logits[:, 1:].max(1).values - silent_logits[:, 0]).max()) + 1.0
            if margin <= 1.0:
                break
            weight[0] += margin * towards_silence
        # rounded so that last-bit differences between machines' matmuls do not change the weights
        weight.copy_(torch.round(weight * 1e4) / 1e4)
        bias.copy_(torch.round(bias * 1e3) / 1e3)


def _synthetic_voice(rng: np.random.Generator, seconds: float = SEGMENTATION_DURATION) -> np.ndarray:
    """Voiced bursts (harmonics of a random pitch + breath noise) separated by pauses."""
    sample_rate = 16000
    total = int(seconds * sample_rate)
    out = np.zeros(total, dtype=np.float32)
    start = 0
    while start < total:
        length = min(int(rng.uniform(0.2, 1.5) * sample_rate), total - start)
        if rng.random() < 0.7:
            t = np.arange(length) / sample_rate
            pitch = rng.uniform(90.0, 250.0)
            voice = sum(np.sin(2 * np.pi * pitch * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8))
            voice = voice + 0.3 * rng.standard_normal(length)
            out[start : start + length] = 0.1 * voice * np.hanning(length)
        start += length
    return out


def _embedding_model(kind: EmbeddingKind) -> torch.nn.Module:
    from pyannote.audio.core.task import Problem, Resolution, Specifications

    if kind == "wespeaker":
        from pyannote.audio.models.embedding import WeSpeakerResNet34

        model: Any = WeSpeakerResNet34()
    else:
        from pyannote.audio.models.embedding import XVectorMFCC

        model = XVectorMFCC(mfcc={"melkwargs": {"n_mels": 64}}, dimension=EMBEDDING_DIMENSION)
    model.specifications = Specifications(
        problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=SEGMENTATION_DURATION
    )
    return model


def _save_checkpoint(model: Any, path: Path) -> None:
    """Save in the layout ``Model.from_pretrained`` reads (a Lightning checkpoint + pyannote metadata)."""
    import lightning

    model.eval()
    checkpoint: dict[str, Any] = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
    }
    model.on_save_checkpoint(checkpoint)  # adds the "pyannote.audio" versions/architecture/specifications
    torch.save(checkpoint, path)


def _write_plda(directory: Path, rng: np.random.Generator) -> None:
    """Random but well-conditioned VBx transforms: x-vector centering + LDA, then a PLDA model."""
    lda = np.linalg.qr(rng.standard_normal((EMBEDDING_DIMENSION, EMBEDDING_DIMENSION)))[0][:, :LDA_DIMENSION]
    np.savez(
        directory / "xvec_transform.npz",
        mean1=0.1 * rng.standard_normal(EMBEDDING_DIMENSION),
        mean2=0.1 * rng.standard_normal(LDA_DIMENSION),
        lda=lda,
    )
    transform = np.linalg.qr(rng.standard_normal((LDA_DIMENSION, LDA_DIMENSION)))[0]
    # between-class variances spread like a trained PLDA's: a few large, most small
    psi = np.sort(np.exp(rng.uniform(np.log(0.05), np.log(50.0), LDA_DIMENSION)))[::-1].copy()
    np.savez(directory / "plda.npz", mu=0.1 * rng.standard_normal(LDA_DIMENSION), tr=transform, psi=psi)
