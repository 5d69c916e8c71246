"""What a list of transcriptions is asked for (a filter) and what comes back (one page of it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from heard_local.domain.transcription import TranscriptionGroup, TranscriptionStatus


@dataclass
class TranscriptionFilter:
    configuration_id: str | None = None
    status: TranscriptionStatus | None = None
    group: TranscriptionGroup | None = None
    language: str | None = None
    customer_id: str | None = None
    channel: str | None = None
    search: str | None = None  # case-insensitive substring of the transcript text or the name
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
