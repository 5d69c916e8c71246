"""How the built-in diarizer's settings were chosen: mean DER on the ten AMI debug.train excerpts for each
setting, with the scored recordings (sample.wav, AMI debug.test + debug.development) beside it.

- first pass (heard_local/adapters/builtin_diarization/pipeline.py, ``BuiltinParams``): segmentation and
  embeddings are computed once per recording (pyannote's training cache) and only the clustering is re-run;
- second pass (refine.py, ``RefineParams``): the first pass once per recording, then the dense-window
  pass for each setting.

    python -m benchmarks.builtin_sweep [--second-pass-only]
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from dataclasses import replace
from typing import Any

THRESHOLDS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8)
MIN_CLUSTER_SIZES = (1, 2, 4, 12)
MERGE_THRESHOLDS = (0.7, 0.8, 0.9)
WINDOW_STEPS = ((0.25, 0.1), (0.5, 0.2), (0.5, 0.0))  # (step, fine step); fine step 0: no fine windows


def main() -> None:
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
    warnings.filterwarnings("ignore")
    import torch

    from heard_local.adapters.builtin_diarization.pipeline import BuiltinParams, build_pipeline
    from tests.support import diarization_truth

    torch.set_num_threads(2)
    if not diarization_truth.available():
        print("../shared/data is absent")
        return
    base = BuiltinParams()
    pipeline = build_pipeline(base)
    pipeline.training = True  # keep segmentations and embeddings per file between settings

    def files(recordings: list[diarization_truth.Recording]) -> list[tuple[Any, dict[str, Any]]]:
        return [(r, {"waveform": torch.from_numpy(r.samples())[None], "sample_rate": 16_000, "uri": r.name})
                for r in recordings]

    train = files(diarization_truth.ami("train"))
    scored = files(diarization_truth.scored_recordings())

    def score(chosen: list[tuple[Any, dict[str, Any]]]) -> list[tuple[str, float, bool]]:
        out = []
        for recording, file in chosen:
            annotation = pipeline(file).speaker_diarization
            turns = [(s.start, s.end, label) for s, _, label in annotation.itertracks(yield_label=True)]
            out.append((recording.name, diarization_truth.der(recording, turns),
                        len(annotation.labels()) == recording.speakers))
        return out

    if "--second-pass-only" not in sys.argv:
        first_pass(pipeline, base, train, scored, score)
    second_pass(pipeline, train, scored)


def first_pass(pipeline: Any, base: Any, train: list[Any], scored: list[Any], score: Any) -> None:
    import numpy as np

    print("threshold  min_cluster  train_mean  train_count  sample  ami_mean  ami_count  chosen")
    for threshold, size in itertools.product(THRESHOLDS, MIN_CLUSTER_SIZES):
        params = replace(base, threshold=threshold, min_cluster_size=size)
        pipeline.instantiate(params.pipeline_parameters())
        on_train, on_scored = score(train), score(scored)
        ami = [(e, right) for name, e, right in on_scored if name != "sample"]
        sample = next(e for name, e, _ in on_scored if name == "sample")
        chosen = "<-" if (threshold, size) == (base.threshold, base.min_cluster_size) else ""
        print(f"{threshold:9.2f}  {size:11d}  {np.mean([e for _, e, _ in on_train]):10.3f}  "
              f"{sum(r for *_, r in on_train):8d}/10  {sample:6.3f}  {np.mean([e for e, _ in ami]):8.3f}  "
              f"{sum(r for _, r in ami):7d}/4  {chosen}", flush=True)



def second_pass(pipeline: Any, train: list[Any], scored: list[Any]) -> None:
    import numpy as np

    from heard_local.adapters.builtin_diarization import annotation_turns
    from heard_local.adapters.builtin_diarization.pipeline import BuiltinParams
    from heard_local.adapters.builtin_diarization.refine import RefineParams, refine
    from heard_local.adapters.voice_diarization.clustering import SpeakerCount
    from tests.support import diarization_truth

    base = RefineParams()
    pipeline.training = False
    pipeline.instantiate(BuiltinParams().pipeline_parameters())
    first = {recording.name: annotation_turns(pipeline(file).speaker_diarization,
                                              file["waveform"].shape[1] / 16_000)
             for recording, file in [*train, *scored]}
    print("\nsecond pass: merge  step  fine_step  train_mean  train_count  sample  ami_mean  ami_count  chosen")
    for merge, (step, fine_step) in itertools.product(MERGE_THRESHOLDS, WINDOW_STEPS):
        params = RefineParams(merge_threshold=merge, step_seconds=step, fine_step=fine_step,
                              fine_window=base.fine_window if fine_step else 0.0)

        def score(chosen: list[tuple[Any, dict[str, Any]]],
                  params: RefineParams = params) -> list[tuple[str, float, bool]]:
            out = []
            for recording, file in chosen:
                turns = refine(file["waveform"][0].numpy(), first[recording.name], SpeakerCount(),
                               pipeline._embedding, params).overlapping_turns
                out.append((recording.name, diarization_truth.der(recording, [(t.start, t.end, t.speaker)
                                                                              for t in turns]),
                            len({t.speaker for t in turns}) == recording.speakers))
            return out

        on_train, on_scored = score(train), score(scored)
        ami = [(e, right) for name, e, right in on_scored if name != "sample"]
        sample = next(e for name, e, _ in on_scored if name == "sample")
        chosen = "<-" if (merge, step, fine_step) == (base.merge_threshold, base.step_seconds, base.fine_step) else ""
        print(f"{merge:18.2f}  {step:4.2f}  {fine_step:9.2f}  {np.mean([e for _, e, _ in on_train]):10.3f}  "
              f"{sum(r for *_, r in on_train):8d}/10  {sample:6.3f}  {np.mean([e for e, _ in ami]):8.3f}  "
              f"{sum(r for _, r in ami):7d}/4  {chosen}", flush=True)


if __name__ == "__main__":
    main()
