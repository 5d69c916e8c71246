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

Random weights would make the segmentation say "nobody speaks" everywhere (early exit, nothing to
embed or cluster): the classifier of the segmentation model is scaled so its powerset decisions follow
the input, giving speech, overlaps and speaker changes that differ between recordings.

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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _save_checkpoint(_segmentation_model(), directory / "segmentation" / "pytorch_model.bin")
        _save_checkpoint(_embedding_model(embedding), directory / "embedding" / "pytorch_model.bin")
    _write_plda(directory / "plda", np.random.default_rng(seed))
    (directory / "config.yaml").write_text(CONFIG_YAML.format(version=pyannote.audio.__version__), encoding="utf-8")
    return directory


def _segmentation_model() -> torch.nn.Module:
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
    with torch.no_grad():
        # Default init gives near-constant logits (argmax = one class everywhere). Larger classifier
        # weights make the per-frame argmax depend on the LSTM state, i.e. on the audio.
        model.classifier.weight.mul_(40.0)
        model.classifier.bias.zero_()
    return model


def _embedding_model(kind: EmbeddingKind) -> torch.nn.Module:
    from pyannote.audio.core.task import Problem, Resolution, Specifications

    if kind == "wespeaker":
        from pyannote.audio.models.embedding import WeSpeakerResNet34

        model: Any = WeSpeakerResNet34()
    else:
        from pyannote.audio.models.embedding import XVectorMFCC

        model = XVectorMFCC(dimension=EMBEDDING_DIMENSION)
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
