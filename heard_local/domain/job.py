"""Jobs: units of queued work, and the progress they report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class JobStatus(StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def api_status(self) -> str:
        """The ingestion document's vocabulary: processing / completed / failed."""
        if self in (JobStatus.PENDING, JobStatus.IN_PROGRESS):
            return "processing"
        return self.value.lower()


class JobKind(StrEnum):
    AUDIO = "audio"  # heavy: decode, transcribe, diarize
    TRANSCRIPT = "transcript"  # light: parse text
    REPROCESS = "reprocess"  # light: re-run extraction / summary on a stored conversation

    @property
    def heavy(self) -> bool:
        return self is JobKind.AUDIO


class Progress(BaseModel):
    """Progress in pyannote's hook style: the current step and how far through it."""

    step: str = "queued"
    completed: float | None = None
    total: float | None = None

    @property
    def fraction(self) -> float | None:
        if self.completed is None or not self.total:
            return None
        return max(0.0, min(1.0, self.completed / self.total))


class _Payload(BaseModel):
    # Rows queued by earlier versions also carry the submission's metadata, now stored once, on the
    # transcription: ignored here.
    model_config = ConfigDict(extra="ignore")


class TranscriptPayload(_Payload):
    source: Literal["transcript"] = "transcript"
    transcript_text: str


class AudioFilePayload(_Payload):
    source: Literal["audio_file"] = "audio_file"
    media_path: str
    format: str


class AudioUrlPayload(_Payload):
    source: Literal["audio_url"] = "audio_url"
    audio_url: str
    media_path: str | None = None  # where the download landed (a retry does not download again)
    format: str | None = None


class ReprocessPayload(_Payload):
    source: Literal["reprocess"] = "reprocess"


class BatchImportPayload(_Payload):
    """A recording processed by ``heard-local batch`` elsewhere: its job is complete when imported."""

    source: Literal["batch_import"] = "batch_import"
    imported_from: str
    media_path: str | None = None


JobPayload = Annotated[TranscriptPayload | AudioFilePayload | AudioUrlPayload | ReprocessPayload | BatchImportPayload,
                       Field(discriminator="source")]
_PAYLOAD: TypeAdapter[JobPayload] = TypeAdapter(JobPayload)


def parse_job_payload(data: dict[str, Any]) -> JobPayload:
    """A stored job's input. Rows written before payloads were typed have no ``source``: it follows
    from their keys."""
    if "source" not in data:
        source = ("transcript" if "transcript_text" in data else "audio_url" if "audio_url" in data
                  else "audio_file" if "media_path" in data else "reprocess")
        data = {**data, "source": source}
    return _PAYLOAD.validate_python(data)


class Job(BaseModel):
    job_id: str
    kind: JobKind
    status: JobStatus
    transcription_id: str
    configuration_id: str
    content_sha256: str | None = None
    payload: JobPayload = Field(default_factory=ReprocessPayload)
    attempts: int = 0
    max_attempts: int = 3
    last_error: str | None = None
    error_code: str | None = None
    progress: Progress = Field(default_factory=Progress)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_after: datetime | None = None
    estimated_duration_seconds: float | None = None

    def to_api(self, *, queue_position: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "status": self.status.api_status,
            "state": self.status.value,
            "kind": self.kind.value,
            "transcription_id": self.transcription_id,
            "configuration_id": self.configuration_id,
            "progress": {
                **self.progress.model_dump(),
                "fraction": self.progress.fraction,
            },
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "estimated_duration_seconds": self.estimated_duration_seconds,
        }
        if queue_position is not None:
            data["queue_position"] = queue_position
        if self.status is JobStatus.FAILED:
            data["error"] = {"code": self.error_code or "INTERNAL_ERROR", "message": self.last_error}
        return data


@dataclass
class Submission:
    """The answer to an ingest: the job, and whether it is an earlier identical one."""

    job: Job
    duplicate: bool
    estimated_duration_seconds: float
