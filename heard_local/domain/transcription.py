"""Transcription: one processed conversation, in the exact shape of the core-objects document.

Extra keys beyond the document (segment ``start``/``end``, field ``evidence``, ``warnings``…) are
additions a client of the hosted API can ignore; no documented key is renamed or moved.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# The longest text one transcript line may be corrected to (characters).
MAX_SEGMENT_TEXT = 10_000

class TranscriptionStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class TranscriptionGroup(StrEnum):
    PENDING_REVIEW = "PENDING_REVIEW"
    UNDER_REVIEW = "UNDER_REVIEW"
    ARCHIVED = "ARCHIVED"


class Channel(StrEnum):
    VOICE = "voice"
    EMAIL = "email"
    CHAT = "chat"
    MEETING = "meeting"


def speaker_id(index: int) -> str:
    """SPEAKER_00, SPEAKER_01, … in order of first appearance."""
    return f"SPEAKER_{index:02d}"


class SegmentWord(BaseModel):
    """One recognised word with its time (seconds) and the recogniser's confidence. ``word`` keeps the
    recogniser's own leading space; ``probability`` is None for a word a user typed in a correction."""

    word: str
    start: float
    end: float
    probability: float | None = None


class Segment(BaseModel):
    text: str
    speaker: str
    start: float | None = None
    end: float | None = None
    # Word timings, when the recogniser gave them. Not part of the documented shape: left out of
    # to_api() unless asked for (GET ...?words=true).
    words: list[SegmentWord] | None = Field(default=None, exclude=True)


class Conversation(BaseModel):
    segments: list[Segment] = Field(default_factory=list)


class Summary(BaseModel):
    summary: str


class Evidence(BaseModel):
    """Where an extracted value came from: a verbatim quote and the segment that holds it."""

    quote: str
    segment_index: int


class FieldValue(BaseModel):
    name: str
    value: Any = None
    evidence: list[Evidence] = Field(default_factory=list)


class Fields(BaseModel):
    fields: list[FieldValue] = Field(default_factory=list)


class SpeakerInfo(BaseModel):
    """What is known about a speaker id: a role from the transcript ("Agent") and a user-given name; when
    the voice was recognised as a voice profile's, that profile and how similar the voices are."""

    role: str | None = None
    name: str | None = None
    voice_id: str | None = None
    similarity: float | None = None


class LlmStatus(StrEnum):
    """State of the LLM stages (extraction, summary) of a completed transcription."""

    NOT_REQUESTED = "not_requested"
    COMPLETED = "completed"
    PENDING = "pending"  # could not run (e.g. Ollama down); re-run later without transcribing again


class Details(BaseModel):
    language: str | None = None
    num_speakers: int = 0
    created_at: datetime | None = None
    completed_at: datetime | None = None
    conversation: Conversation = Field(default_factory=Conversation)
    summary: Summary | None = None
    fields: Fields | None = None
    # Additions beyond the hosted document.
    speakers: dict[str, SpeakerInfo] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    llm_status: LlmStatus = LlmStatus.NOT_REQUESTED
    llm_pending_reason: str | None = None


class TranscriptionError(BaseModel):
    """The document's error object: ``code`` is the HTTP-style status (400 for a bad file); ``type``
    (an addition) is heard-local's error code, e.g. UNSUPPORTED_FORMAT."""

    message: str
    code: int
    type: str | None = None


class Transcription(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    transcription_id: str
    status: TranscriptionStatus
    configuration_id: str
    configuration_tag: str | None = None
    name: str | None = None
    group: TranscriptionGroup | None = None
    duration: float | None = None
    details: Details | None = None
    error: TranscriptionError | None = None
    # Additions beyond the hosted document.
    created_at: datetime | None = None
    customer_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_api(self, *, words: bool = False) -> dict[str, Any]:
        """The document's shape: ``details`` only when COMPLETED, ``error`` only when FAILED. With
        ``words``, each segment also carries ``words`` ([] where no timings are known)."""
        data = self.model_dump(mode="json")
        if words and self.details is not None and "details" in data:
            for segment, dumped in zip(self.details.conversation.segments, data["details"]["conversation"]["segments"],
                                       strict=True):
                dumped["words"] = [w.model_dump(mode="json") for w in segment.words or []]
        if self.status is not TranscriptionStatus.COMPLETED:
            data.pop("details", None)
        if self.status is not TranscriptionStatus.FAILED:
            data.pop("error", None)
        return data

    def speaker_label(self, speaker: str) -> str:
        """The name to show for a speaker id: user-given name, else transcript role, else the id."""
        info = self.details.speakers.get(speaker) if self.details else None
        if info and info.name:
            return info.name
        if info and info.role:
            return info.role
        return speaker
