"""``SpeakerDiarization.apply`` (pyannote.audio 4.0) with the fast segmentation and embedding stages.

Everything between and after them (binarisation, speaker counting, VBx/agglomerative clustering,
reconstruction, annotation, label naming, the output object) calls the pipeline's own methods in the
order and with the arguments ``apply`` uses, so the turns match stock pyannote's. Branches that only
matter for training or oracle evaluation are left to stock pyannote (``unsupported_reason`` sends those
pipelines and files there).
"""

from __future__ import annotations

import functools
import textwrap
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from heard_local.adapters.fast_diarization import embeddings as embedding_stage
from heard_local.adapters.fast_diarization import segmentation as segmentation_stage
from heard_local.adapters.fast_diarization.per_pipeline import PerPipeline

SUPPORTED_PYANNOTE = "4.0."


def unsupported_reason(pipeline: Any, sample_rate: int) -> str | None:
    """Why ``pipeline`` must run stock (None: the fast path reproduces it)."""
    import pyannote.audio
    from pyannote.audio.pipelines import SpeakerDiarization
    from pyannote.audio.pipelines.speaker_verification import PyannoteAudioPretrainedSpeakerEmbedding

    if not pyannote.audio.__version__.startswith(SUPPORTED_PYANNOTE):
        return f"pyannote.audio {pyannote.audio.__version__} (the fast path follows {SUPPORTED_PYANNOTE}x)"
    if type(pipeline) is not SpeakerDiarization:
        return f"{type(pipeline).__name__} is not pyannote's SpeakerDiarization"
    if pipeline.training:
        return "pipeline in training mode"
    if pipeline.klustering == "OracleClustering":
        return "oracle clustering"
    if getattr(pipeline, "preprocessors", None):
        return "pipeline with preprocessors"
    if not pipeline.instantiated:
        return "pipeline not instantiated"
    inference = pipeline._segmentation
    if inference.window != "sliding" or not inference.skip_aggregation or inference.pre_aggregation_hook:
        return "segmentation inference configured differently from SpeakerDiarization's"
    if not isinstance(pipeline._embedding, PyannoteAudioPretrainedSpeakerEmbedding):
        return f"embedding {type(pipeline._embedding).__name__} is not a pyannote.audio model"
    if inference.device.type != "cpu" or pipeline._embedding.device.type != "cpu":
        return "pipeline not on CPU (the fast path is for CPUs; GPUs run stock pyannote well)"
    reason = segmentation_stage.unsupported_reason(inference.model) or embedding_stage.unsupported_reason(
        pipeline._embedding.model_)
    if reason:
        return reason
    rates = {int(inference.model.hparams.sample_rate), int(pipeline._embedding.sample_rate)}
    if rates != {int(sample_rate)}:
        return f"audio at {sample_rate} Hz, models at {sorted(rates)} Hz (resampling is left to pyannote)"
    return None


class FastPipeline:
    """The fast stages built for one pipeline (compiled once, reused for every recording)."""

    def __init__(self, pipeline: Any, backends: Sequence[str]):
        self.segmentation = segmentation_stage.FastSegmentation(pipeline, backends)
        self.embeddings = embedding_stage.FastEmbeddings(pipeline, backends)

    @property
    def backends(self) -> dict[str, str]:
        return {"segmentation": self.segmentation.backend, "embedding": self.embeddings.backend}


_prepared: PerPipeline[dict[tuple[str, ...], FastPipeline]] = PerPipeline()
_building = threading.Lock()


def prepared(pipeline: Any, backends: Sequence[str]) -> FastPipeline:
    """The fast stages for ``pipeline``, built on first use (seconds: export and check against eager);
    dropped when the pipeline is."""
    key = tuple(backends)
    with _building:  # one build at a time: a second caller waits for the first's result
        per_backends = _prepared.get_or_create(pipeline, dict)
        if key not in per_backends:
            per_backends[key] = FastPipeline(pipeline, backends)
        return per_backends[key]


def apply(pipeline: Any, fast: FastPipeline, file: dict[str, Any], num_speakers: int | None = None,
          min_speakers: int | None = None, max_speakers: int | None = None,
          hook: Callable[..., Any] | None = None) -> Any:
    """What ``pipeline.apply(file, ...)`` returns, for a validated in-memory ``file``."""
    from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
    from pyannote.audio.pipelines.utils.diarization import set_num_speakers
    from pyannote.audio.utils.signal import binarize
    from pyannote.core import Annotation

    hook = pipeline.setup_hook(file, hook=hook)
    num_speakers, min_speakers, max_speakers = set_num_speakers(
        num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers)
    if pipeline._expects_num_speakers and num_speakers is None:
        raise ValueError(f"num_speakers must be provided when using {pipeline.klustering} clustering")

    model = pipeline._segmentation.model
    waveform, sample_rate = model.audio(file)  # downmixed exactly as pyannote's inference does
    segmentations = fast.segmentation(waveform, sample_rate, hook=functools.partial(hook, "segmentation", None))
    hook("segmentation", segmentations)

    if model.specifications.powerset:
        binarized_segmentations = segmentations
    else:
        binarized_segmentations = binarize(segmentations, onset=pipeline.segmentation.threshold, initial_state=False)

    count = pipeline.speaker_count(binarized_segmentations, model.receptive_field, warm_up=(0.0, 0.0))
    hook("speaker_counting", count)

    if np.nanmax(count.data) == 0.0:
        output = DiarizeOutput(speaker_diarization=Annotation(uri=file["uri"]),
                               exclusive_speaker_diarization=Annotation(uri=file["uri"]),
                               speaker_embeddings=np.zeros((0, pipeline._embedding.dimension)))
        return output.speaker_diarization if pipeline.legacy else output

    embeddings = fast.embeddings(waveform, binarized_segmentations, pipeline.embedding_exclude_overlap, hook=hook)
    hook("embeddings", embeddings)

    hard_clusters, _, centroids = pipeline.clustering(
        embeddings=embeddings, segmentations=binarized_segmentations, num_clusters=num_speakers,
        min_clusters=min_speakers, max_clusters=max_speakers, file=file, frames=model.receptive_field)
    num_different_speakers = np.max(hard_clusters) + 1
    if num_different_speakers < min_speakers or num_different_speakers > max_speakers:
        warnings.warn(textwrap.dedent(f"""
            The detected number of speakers ({num_different_speakers}) for {file["uri"]} is outside
            the given bounds [{min_speakers}, {max_speakers}]. This can happen if the
            given audio file is too short to contain {min_speakers} or more speakers.
            Try to lower the desired minimal number of speakers.
            """), stacklevel=2)

    count.data = np.minimum(count.data, max_speakers).astype(np.int8)
    inactive_speakers = np.sum(binarized_segmentations.data, axis=1) == 0
    hard_clusters[inactive_speakers] = -2
    discrete_diarization = pipeline.reconstruct(segmentations, hard_clusters, count)
    hook("discrete_diarization", discrete_diarization)
    min_duration_off = pipeline.segmentation.min_duration_off
    diarization = pipeline.to_annotation(discrete_diarization, min_duration_on=0.0, min_duration_off=min_duration_off)
    diarization.uri = file["uri"]

    count.data = np.minimum(count.data, 1).astype(np.int8)
    exclusive_discrete = pipeline.reconstruct(segmentations, hard_clusters, count)
    exclusive_diarization = pipeline.to_annotation(exclusive_discrete, min_duration_on=0.0,
                                                   min_duration_off=min_duration_off)
    exclusive_diarization.uri = file["uri"]

    mapping = {label: expected for label, expected in zip(diarization.labels(), pipeline.classes(), strict=False)}
    diarization = diarization.rename_labels(mapping=mapping)
    exclusive_diarization = exclusive_diarization.rename_labels(mapping=mapping)

    if centroids is not None:
        if len(diarization.labels()) > centroids.shape[0]:
            centroids = np.pad(centroids, ((0, len(diarization.labels()) - centroids.shape[0]), (0, 0)))
        inverse_mapping = {label: index for index, label in mapping.items()}
        centroids = centroids[[inverse_mapping[label] for label in diarization.labels()]]
    output = DiarizeOutput(speaker_diarization=diarization, exclusive_speaker_diarization=exclusive_diarization,
                           speaker_embeddings=centroids)
    return output.speaker_diarization if pipeline.legacy else output


def as_file(waveform: np.ndarray | torch.Tensor, sample_rate: int, uri: str) -> dict[str, Any]:
    """The in-memory file dict pyannote takes: a (channels, samples) float32 tensor (1-D means mono)."""
    from pyannote.audio import Audio

    tensor = torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32)) if isinstance(
        waveform, np.ndarray) else waveform.to(torch.float32)
    if tensor.dim() == 1:
        tensor = tensor[None]
    return dict(Audio.validate_file({"waveform": tensor, "sample_rate": int(sample_rate), "uri": uri}))
