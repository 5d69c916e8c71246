"""Voice profiles: a remembered voice under a name. The voiceprint itself never leaves the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

MAX_VOICE_NAME_LENGTH = 100


@dataclass(frozen=True)
class Voiceprint:
    """One speaker's voice in one conversation (biometric: kept in the store, never exported)."""

    vector: np.ndarray  # L2-normalised, so a dot product is the cosine similarity
    speech_seconds: float  # how much of the speaker's solo speech went into it


class VoiceProfile(BaseModel):
    voice_id: str
    name: str
    role: str | None = None
    samples: int = 1  # how many conversations' voiceprints were averaged into it
    speech_seconds: float = 0.0
    source_transcription_id: str | None = None  # where it was first remembered (null once that is deleted)
    source_speaker: str | None = None
    created_at: datetime
    updated_at: datetime | None = None


class VoiceEnrolment(BaseModel):
    """``POST /voices``: remember ``speaker`` of ``transcription_id`` as ``name``. The same name again adds
    that conversation's voice to the existing profile."""

    model_config = ConfigDict(extra="forbid")

    transcription_id: str = Field(min_length=1, max_length=200)
    speaker: str = Field(pattern=r"^SPEAKER_\d{2,}$")
    name: str = Field(min_length=1, max_length=MAX_VOICE_NAME_LENGTH)
    role: str | None = Field(default=None, max_length=50)


class VoiceAppearance(BaseModel):
    """A conversation where a profile's voice speaks."""

    transcription_id: str
    name: str | None = None
    speaker: str
    similarity: float
    created_at: datetime | None = None
