"""The redaction stage of a job: between the conversation stage and storage (so before the LLM stage).

With ``redact_audio`` the recording is rewritten with the redacted spans silenced, as a 16-bit WAV beside
the original (written to a temporary name, then renamed into place), and the transcription points at it
in the same transaction that stores the redacted text. The original is deleted once the job completes,
unless another transcription uses it; until then a retry of the job still finds it.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from heard_local.domain import Configuration, IngestMetadata, RedactedSpan
from heard_local.pipeline.protocols import AudioDecoder, ConversationResult
from heard_local.pipeline.redaction import redact_conversation
from heard_local.store import Store

# Silence a little either side of a span: word timings are accurate to a few tens of milliseconds.
AUDIO_MARGIN_SECONDS = 0.08


@dataclass
class RedactionOutcome:
    conversation: ConversationResult
    spans: list[RedactedSpan] = field(default_factory=list)
    redacted_audio: Path | None = None
    original_audio: Path | None = None

    def save(self, cur: Any, store: Store, transcription_id: str) -> None:
        """In the transaction that stores the conversation."""
        store.redactions.save(cur, transcription_id, self.spans)
        if self.redacted_audio is not None:
            cur.execute("UPDATE transcriptions SET media_path = ? WHERE transcription_id = ?",
                        [str(self.redacted_audio), transcription_id])

    def finish(self, store: Store) -> None:
        """After the job completed: the unredacted recording goes, unless another transcription uses it."""
        if self.original_audio is None:
            return
        with store.db.write() as cur:
            in_use = store.transcriptions.media_in_use(cur, str(self.original_audio))
        if not in_use:
            self.original_audio.unlink(missing_ok=True)


def silence(samples: np.ndarray, sample_rate: int, spans: list[RedactedSpan]) -> np.ndarray:
    """``samples`` (channels, n) with every timed span set to zero, on every channel."""
    quiet = samples.copy()
    for span in spans:
        if span.start is None or span.end is None:
            continue
        first = max(0, int((span.start - AUDIO_MARGIN_SECONDS) * sample_rate))
        last = min(quiet.shape[1], int(np.ceil((span.end + AUDIO_MARGIN_SECONDS) * sample_rate)))
        quiet[:, first:last] = 0.0
    return quiet


def write_redacted_audio(source: Path, spans: list[RedactedSpan], decoder: AudioDecoder | None) -> Path:
    from heard_local.adapters.audio_decode import decode_audio

    waveform = decoder.decode(source) if decoder is not None else decode_audio(source)
    quiet = silence(waveform.samples, waveform.sample_rate, spans)
    target = source.with_name(f"{source.stem}.redacted.wav")
    temporary = target.with_name(f".{target.name}.tmp")
    pcm = (np.clip(quiet, -1.0, 1.0) * 32767).round().astype("<i2")
    with open(temporary, "wb") as handle:
        with wave.open(handle, "wb") as out:
            out.setnchannels(pcm.shape[0])
            out.setsampwidth(2)
            out.setframerate(waveform.sample_rate)
            out.writeframes(pcm.T.tobytes())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return target


def run_redaction(conversation: ConversationResult, configuration: Configuration, metadata: IngestMetadata, *,
                  media: Path | None, region: str, decoder: AudioDecoder | None) -> RedactionOutcome:
    if not configuration.redact:
        return RedactionOutcome(conversation)
    names = [n for n in (metadata.customer_name, metadata.agent_name) if n]
    redacted, spans = redact_conversation(conversation, list(configuration.redact), names=names, region=region)
    outcome = RedactionOutcome(redacted, spans)
    if configuration.redact_audio and media is not None and any(s.start is not None for s in spans):
        outcome.redacted_audio = write_redacted_audio(media, spans, decoder)
        outcome.original_audio = media
    return outcome
