"""The engine's side of the audio stage: which models, which options, then the pipeline."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from heard_local.config import Settings
from heard_local.domain import Configuration
from heard_local.domain.languages import DETECT
from heard_local.domain.metadata import IngestMetadata
from heard_local.domain.voice import Voiceprint
from heard_local.engine.models import ModelManager
from heard_local.pipeline.audio import conversation_from_waveform
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import (
    AudioDecoder,
    ConversationResult,
    DiarizeOptions,
    TranscribeOptions,
    Waveform,
)
from heard_local.pipeline.voiceprints import conversation_voiceprints

log = logging.getLogger(__name__)


def transcribe_options(configuration: Configuration, metadata: IngestMetadata) -> TranscribeOptions:
    language = metadata.language if metadata.language and metadata.language != DETECT else None
    return TranscribeOptions(language=language, vocabulary=list(configuration.vocabulary))


def diarize_options(metadata: IngestMetadata) -> DiarizeOptions:
    return DiarizeOptions(num_speakers=metadata.num_speakers, min_speakers=metadata.min_speakers,
                          max_speakers=metadata.max_speakers, agent_name=metadata.agent_name,
                          agent_channel=agent_channel(metadata))


def agent_channel(metadata: IngestMetadata) -> int | None:
    """``agent_channel`` (an extra metadata key): 0/"left" or 1/"right"; None when absent or unclear."""
    value: Any = (metadata.model_extra or {}).get("agent_channel")
    if isinstance(value, str):
        value = {"left": 0, "right": 1}.get(value.strip().lower(), value.strip())
    try:
        channel = int(value)
    except (TypeError, ValueError):
        return None
    return channel if 0 <= channel < 8 else None


def run_audio_stage(*, path: Path, configuration: Configuration, metadata: IngestMetadata, models: ModelManager,
                    settings: Settings, hook: ProgressHook, decoder: AudioDecoder | None = None,
                    voiceprints: bool = True) -> ConversationResult:
    """Decode first (a corrupt file fails before any model is loaded), then transcribe and diarize; then
    (unless ``voiceprints`` is False: a batch keeps no voices) each speaker's voiceprint."""
    from heard_local.adapters.audio_decode import PyAvDecoder
    from heard_local.adapters.channels import ChannelLayoutAnalyser

    hook("decode", completed=0, total=1)
    waveform = (decoder or PyAvDecoder()).decode(path)
    hook("decode", completed=1, total=1)
    hook("load_models", completed=0, total=1)
    transcriber = models.transcriber.acquire()
    try:
        diarizer = models.diarizer.acquire()
    except BaseException:
        models.transcriber.release()
        raise
    hook("load_models", completed=1, total=1)
    try:
        result = conversation_from_waveform(
            waveform, transcriber=transcriber, diarizer=diarizer, channels=ChannelLayoutAnalyser(),
            transcribe_options=transcribe_options(configuration, metadata),
            diarize_options=diarize_options(metadata), hook=hook,
        )
    finally:
        models.diarizer.release()
        models.transcriber.release()
    if voiceprints:
        result.voiceprints = speaker_voiceprints(waveform, result, hook)
    return result


def speaker_voiceprints(waveform: Waveform, result: ConversationResult, hook: ProgressHook) -> dict[str, Voiceprint]:
    """Each speaker's voiceprint, for voice profiles; none (logged) when the encoder fails: recognising
    voices must never cost the user the transcript."""
    from heard_local.adapters.voiceprint_encoder import VoiceprintEncoder

    hook("voiceprints", completed=0, total=1)
    try:
        prints = conversation_voiceprints(waveform, result, VoiceprintEncoder())
    except Exception:
        log.exception("computing the speakers' voiceprints failed; this conversation's voices are not kept")
        prints = {}
    hook("voiceprints", completed=1, total=1)
    return prints
