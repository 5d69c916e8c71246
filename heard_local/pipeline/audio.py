"""The audio conversation stage: decode once, transcribe and diarize at the same time, align.

Pure orchestration over the Protocols (no model library is imported here): the decoded waveform is
shared by both stages, which are independent given it, so diarization runs on a second thread while
transcription runs on this one and both CPU cores work (CTranslate2 and torch release the GIL).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heard_local.pipeline.align import align
from heard_local.pipeline.asr_guard import guard_segments
from heard_local.pipeline.progress import ProgressHook, StepHook, null_hook
from heard_local.pipeline.protocols import (
    AsrResult,
    AudioDecoder,
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

NO_SPEECH_WARNING = "No speech was found in the recording."


@dataclass
class StageTimes:
    """Wall seconds per stage of one run (for logs and the benchmarks)."""

    decode: float = 0.0
    transcribe: float = 0.0
    diarize: float = 0.0
    align: float = 0.0


def conversation_from_audio(path: Path, *, decoder: AudioDecoder, transcriber: Transcriber,
                            diarizer: Diarizer | None, transcribe_options: TranscribeOptions | None = None,
                            diarize_options: DiarizeOptions | None = None, hook: ProgressHook = null_hook,
                            times: StageTimes | None = None) -> ConversationResult:
    times = times if times is not None else StageTimes()
    hook("decode", completed=0, total=1)
    started = time.perf_counter()
    waveform = decoder.decode(path)
    times.decode = time.perf_counter() - started
    hook("decode", completed=1, total=1)
    return conversation_from_waveform(waveform, transcriber=transcriber, diarizer=diarizer,
                                      transcribe_options=transcribe_options, diarize_options=diarize_options,
                                      hook=hook, times=times)


def conversation_from_waveform(waveform: Waveform, *, transcriber: Transcriber, diarizer: Diarizer | None,
                               transcribe_options: TranscribeOptions | None = None,
                               diarize_options: DiarizeOptions | None = None, hook: ProgressHook = null_hook,
                               times: StageTimes | None = None) -> ConversationResult:
    times = times if times is not None else StageTimes()
    waveform.mono  # noqa: B018  (mix once, here: both stages read it and must not race to compute it)
    transcribe_options = transcribe_options or TranscribeOptions()
    diarize_options = diarize_options or DiarizeOptions()
    asr, diarization = _transcribe_and_diarize(waveform, transcriber, diarizer, transcribe_options,
                                               diarize_options, hook, times)
    hook("align", completed=0, total=1)
    started = time.perf_counter()
    guarded = guard_segments(asr.segments)
    alignment = align(guarded.segments, diarization.turns)
    times.align = time.perf_counter() - started
    hook("align", completed=1, total=1)
    warnings = [*waveform.notes, *asr.warnings, *guarded.warnings]
    if not alignment.segments:
        warnings.append(NO_SPEECH_WARNING)
    else:
        warnings.extend(diarization.warnings)  # "one speaker because…" matters only when there is speech
    log.info("audio stage: %.1fs of audio, decode %.2fs, transcribe %.2fs, diarize %.2fs (%s), align %.2fs",
             waveform.duration, times.decode, times.transcribe, times.diarize, diarization.method, times.align)
    return ConversationResult(
        segments=alignment.segments,
        language=asr.language if alignment.segments else None,  # a guess from silence is no language
        duration=round(waveform.duration, 3),
        speaker_roles=alignment.roles(diarization.roles),
        warnings=warnings,
        words=alignment.words,
    )


def _transcribe_and_diarize(waveform: Waveform, transcriber: Transcriber, diarizer: Diarizer | None,
                            transcribe_options: TranscribeOptions, diarize_options: DiarizeOptions,
                            hook: ProgressHook, times: StageTimes) -> tuple[AsrResult, DiarizationResult]:
    if diarizer is None:
        started = time.perf_counter()
        asr = transcriber.transcribe(waveform, transcribe_options, ThrottledHook(hook))
        times.transcribe = time.perf_counter() - started
        return asr, _one_speaker(waveform, [])

    def diarize() -> DiarizationResult:
        started = time.perf_counter()
        try:
            return diarizer.diarize(waveform, diarize_options, ThrottledHook(StepHook(hook, "diarize")))
        finally:
            times.diarize = time.perf_counter() - started

    pending = _diarization_pool().submit(diarize)
    started = time.perf_counter()
    try:
        asr = transcriber.transcribe(waveform, transcribe_options, ThrottledHook(hook))
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
# Concurrent audio jobs whose diarization can run at once (more wait for a thread, not for each other).
_DIARIZATION_THREADS = 8


def _diarization_pool() -> ThreadPoolExecutor:
    """Long-lived threads for diarization: a thread per job would leave a database cursor behind per job
    (progress is written from the thread that reports it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_DIARIZATION_THREADS, thread_name_prefix="heard-diarize")
        return _pool


def _one_speaker(waveform: Waveform, warnings: list[str]) -> DiarizationResult:
    return DiarizationResult(turns=[SpeakerTurn(0.0, waveform.duration, "speaker")], method="single",
                             warnings=warnings)


class ThrottledHook:
    """Forwards a stage's progress at most every ``interval`` seconds (plus every step change and every
    finished step), so two stages reporting from two threads do not flood the job's progress row."""

    def __init__(self, hook: ProgressHook, interval: float = 1.0):
        self._hook = hook
        self._interval = interval
        self._lock = threading.Lock()
        self._last_step: str | None = None
        self._last_time = 0.0

    def __call__(self, step: str, artifact: Any = None, *, completed: float | None = None,
                 total: float | None = None) -> None:
        now = time.monotonic()
        finished = completed is not None and total is not None and completed >= total
        with self._lock:
            if step == self._last_step and not finished and now - self._last_time < self._interval:
                return
            self._last_step, self._last_time = step, now
        self._hook(step, artifact, completed=completed, total=total)
