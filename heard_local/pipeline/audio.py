"""The audio conversation stage: decode once, transcribe and diarize at the same time, align.

Pure orchestration over the Protocols (no model library is imported here): the decoded waveform is
shared by both stages, which are independent given it, so diarization runs on a second thread while
transcription runs on this one and both CPU cores work (CTranslate2 and torch release the GIL).

A call recorded with one party per channel (decided once per recording by the ChannelAnalyser, and
handed to the diarizer with the options) is transcribed channel by channel instead of as a mono mix:
each channel's words are exactly its party's, speech at the same time on both channels is kept, and
each channel is easy for Whisper (one voice, no crosstalk). Both channels are transcribed at once when
the transcriber runs two calls at full speed (``concurrent_calls``), one after the other otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from heard_local.pipeline.align import Alignment, align, align_channels
from heard_local.pipeline.asr_guard import GuardResult, guard_segments
from heard_local.pipeline.progress import ProgressHook, StepHook, ThrottledHook, null_hook
from heard_local.pipeline.protocols import (
    AsrResult,
    AudioDecoder,
    ChannelAnalyser,
    ChannelLayout,
    ConversationResult,
    DiarizationResult,
    DiarizeOptions,
    Diarizer,
    SpeakerTurn,
    TranscribeOptions,
    Transcriber,
    Waveform,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_SPEECH_WARNING = "No speech was found in the recording."


@dataclass
class StageTimes:
    """Wall seconds per stage of one run (for logs and the benchmarks)."""

    decode: float = 0.0
    transcribe: float = 0.0
    diarize: float = 0.0
    align: float = 0.0


def conversation_from_audio(path: Path, *, decoder: AudioDecoder, transcriber: Transcriber,
                            diarizer: Diarizer | None, channels: ChannelAnalyser | None = None,
                            transcribe_options: TranscribeOptions | None = None,
                            diarize_options: DiarizeOptions | None = None, hook: ProgressHook = null_hook,
                            times: StageTimes | None = None) -> ConversationResult:
    times = times if times is not None else StageTimes()
    hook("decode", completed=0, total=1)
    started = time.perf_counter()
    waveform = decoder.decode(path)
    times.decode = time.perf_counter() - started
    hook("decode", completed=1, total=1)
    return conversation_from_waveform(waveform, transcriber=transcriber, diarizer=diarizer, channels=channels,
                                      transcribe_options=transcribe_options, diarize_options=diarize_options,
                                      hook=hook, times=times)


def conversation_from_waveform(waveform: Waveform, *, transcriber: Transcriber, diarizer: Diarizer | None,
                               channels: ChannelAnalyser | None = None,
                               transcribe_options: TranscribeOptions | None = None,
                               diarize_options: DiarizeOptions | None = None, hook: ProgressHook = null_hook,
                               times: StageTimes | None = None) -> ConversationResult:
    """``channels`` decides whether a multi-channel recording has one party per channel (then it is
    transcribed per channel); without it every recording is transcribed as its mono mix."""
    times = times if times is not None else StageTimes()
    transcribe_options = transcribe_options or TranscribeOptions()
    diarize_options = diarize_options or DiarizeOptions()
    layout = channels.analyse(waveform) if channels is not None and waveform.channels > 1 else None
    if layout is not None:
        diarize_options = replace(diarize_options, channel_layout=layout)
    one_speaker = diarize_options.num_speakers == 1 or diarize_options.max_speakers == 1
    if layout is not None and layout.separate and not one_speaker:
        per_channel, diarization = _run_with_diarization(
            waveform, lambda h: transcribe_channels(waveform, transcriber, transcribe_options, h),
            diarizer, diarize_options, hook, times)
        hook("align", completed=0, total=1)
        started = time.perf_counter()
        guarded = [guard_segments(asr.segments) for asr in per_channel]
        alignment = align_channels([(label, g.segments) for label, g in zip(layout.labels, guarded, strict=True)],
                                   diarization.turns if diarization.method == "channels" else None,
                                   loudness=_channel_loudness(waveform, layout))
        language = _main_language(per_channel, guarded)
    else:
        waveform.mono  # noqa: B018  (mix once, here: both stages read it and must not race to compute it)
        asr, diarization = _run_with_diarization(
            waveform, lambda h: transcriber.transcribe(waveform, transcribe_options, h),
            diarizer, diarize_options, hook, times)
        hook("align", completed=0, total=1)
        started = time.perf_counter()
        per_channel, guarded = [asr], [guard_segments(asr.segments)]
        alignment = align(guarded[0].segments, diarization.turns)
        language = asr.language
    times.align = time.perf_counter() - started
    hook("align", completed=1, total=1)
    return _conversation(waveform, per_channel, guarded, alignment, diarization, language, layout, times)


def _conversation(waveform: Waveform, asr: list[AsrResult], guarded: list[GuardResult], alignment: Alignment,
                  diarization: DiarizationResult, language: str | None, layout: ChannelLayout | None,
                  times: StageTimes) -> ConversationResult:
    found = [w for a in asr for w in a.warnings] + [w for g in guarded for w in g.warnings]
    warnings = list(dict.fromkeys([*waveform.notes, *found]))  # each channel says the same model notice
    if not alignment.segments:
        warnings.append(NO_SPEECH_WARNING)
    else:
        warnings.extend(diarization.warnings)  # "one speaker because…" matters only when there is speech
    log.info("audio stage: %.1fs of audio, %s, decode %.2fs, transcribe %.2fs, diarize %.2fs (%s), align %.2fs",
             waveform.duration, f"{len(asr)} channel(s) transcribed" if len(asr) > 1 else "mono mix transcribed",
             times.decode, times.transcribe, times.diarize, diarization.method, times.align)
    if layout is not None:
        log.info("channel layout: %s", layout.reason)
    return ConversationResult(
        segments=alignment.segments,
        language=language if alignment.segments else None,  # a guess from silence is no language
        duration=round(waveform.duration, 3),
        speaker_roles=alignment.roles(diarization.roles),
        warnings=warnings,
        words=alignment.words,
        speaker_channels=_speaker_channels(alignment, layout) if len(asr) > 1 else {},
    )


def _speaker_channels(alignment: Alignment, layout: ChannelLayout | None) -> dict[str, int]:
    labels = list(layout.labels) if layout is not None else []
    return {speaker: labels.index(label) for speaker, label in alignment.labels.items() if label in labels}


def transcribe_channels(waveform: Waveform, transcriber: Transcriber, options: TranscribeOptions,
                        hook: ProgressHook) -> list[AsrResult]:
    """Each channel transcribed on its own, at once when the transcriber runs calls concurrently."""
    progress = _SummedProgress(hook, [waveform.duration] * waveform.channels)

    def one(index: int) -> AsrResult:
        return transcriber.transcribe(waveform.channel(index), options, progress.part(index))

    if getattr(transcriber, "concurrent_calls", 1) < 2:
        return [one(index) for index in range(waveform.channels)]
    others = [_stage_pool().submit(one, index) for index in range(1, waveform.channels)]
    try:
        first = one(0)
    finally:
        wait(others)  # never leave a channel decoding after this returns or raises
    return [first, *(future.result() for future in others)]


def _channel_loudness(waveform: Waveform, layout: ChannelLayout) -> Callable[[str, float, float], float]:
    index = {label: i for i, label in enumerate(layout.labels)}

    def loudness(label: str, start: float, end: float) -> float:
        first = max(0, int(start * waveform.sample_rate))
        span = waveform.samples[index[label], first:max(first + 1, int(end * waveform.sample_rate))]
        return float(np.dot(span, span) / span.size) if span.size else 0.0

    return loudness


def _main_language(asr: list[AsrResult], guarded: list[GuardResult]) -> str | None:
    """The language of the channels' speech, weighted by how many words each channel kept."""
    votes: Counter[str] = Counter()
    for result, kept in zip(asr, guarded, strict=True):
        if result.language:
            votes[result.language] += sum(max(1, len(s.words)) for s in kept.segments)
    return votes.most_common(1)[0][0] if votes else None


def _run_with_diarization(waveform: Waveform, transcribe: Callable[[ProgressHook], T], diarizer: Diarizer | None,
                          diarize_options: DiarizeOptions, hook: ProgressHook,
                          times: StageTimes) -> tuple[T, DiarizationResult]:
    """``transcribe`` on this thread while the diarizer works on a second one."""
    if diarizer is None:
        started = time.perf_counter()
        asr = transcribe(ThrottledHook(hook))
        times.transcribe = time.perf_counter() - started
        return asr, _one_speaker(waveform, [])

    def diarize() -> DiarizationResult:
        started = time.perf_counter()
        try:
            return diarizer.diarize(waveform, diarize_options, ThrottledHook(StepHook(hook, "diarize")))
        finally:
            times.diarize = time.perf_counter() - started

    pending = _stage_pool().submit(diarize)
    started = time.perf_counter()
    try:
        asr = transcribe(ThrottledHook(hook))
    except BaseException:
        if not pending.cancel():  # already running: let it finish before the waveform goes away
            wait([pending])
        raise
    times.transcribe = time.perf_counter() - started
    try:
        diarization = pending.result()
    except Exception as exc:  # a speaker model failing must not cost the user the transcript
        log.exception("diarization failed; attributing the recording to one speaker")
        diarization = _one_speaker(waveform, [f"Speaker diarization failed ({type(exc).__name__}: {exc}); "
                                              "the whole recording is attributed to one speaker."])
    return asr, diarization


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
# Concurrent audio jobs whose diarization (or second channel) can run at once (more wait for a thread, not
# for each other).
_STAGE_THREADS = 8


def _stage_pool() -> ThreadPoolExecutor:
    """Long-lived threads for diarization and second channels: a thread per job would leave a database
    cursor behind per job (progress is written from the thread that reports it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_STAGE_THREADS, thread_name_prefix="heard-audio")
        return _pool


def _one_speaker(waveform: Waveform, warnings: list[str]) -> DiarizationResult:
    return DiarizationResult(turns=[SpeakerTurn(0.0, waveform.duration, "speaker")], method="single",
                             warnings=warnings)


class _SummedProgress:
    """One "transcribe" progress over several channels transcribed at once: completed seconds added up."""

    def __init__(self, hook: ProgressHook, totals: list[float]):
        self._hook = hook
        self._lock = threading.Lock()
        self._done = [0.0] * len(totals)
        self._totals = list(totals)

    def part(self, index: int) -> ProgressHook:
        def report(step: str, artifact: Any = None, *, completed: float | None = None,
                   total: float | None = None) -> None:
            if completed is None or total is None:
                self._hook(step, artifact, completed=completed, total=total)
                return
            with self._lock:
                self._done[index], self._totals[index] = completed, total
                done, whole = sum(self._done), sum(self._totals)
            self._hook(step, artifact, completed=done, total=whole)

        return report
