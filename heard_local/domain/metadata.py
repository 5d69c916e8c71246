"""What a client tells heard-local about a conversation when it submits one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from heard_local.domain.configuration import _check_language
from heard_local.domain.customer import normalize_email, normalize_phone
from heard_local.domain.transcription import Channel

MAX_TRANSCRIPT_CHARS = 2_000_000
# An integration's own metadata keys are stored with every transcription: a few, small.
MAX_EXTRA_KEYS = 50
MAX_EXTRA_BYTES = 16 * 1024


class IngestMetadata(BaseModel):
    """The ingestion document's ``metadata`` object. Unknown keys are kept (and stored) so an
    integration's own fields survive the round trip."""

    model_config = ConfigDict(extra="allow")

    source: str | None = Field(default=None, max_length=255)
    caller_phone: str | None = Field(default=None, max_length=64)
    customer_phone: str | None = Field(default=None, max_length=64)
    customer_email: str | None = Field(default=None, max_length=320)
    customer_name: str | None = Field(default=None, max_length=255)
    agent_name: str | None = Field(default=None, max_length=255)
    recorded_at: datetime | None = None
    channel: Channel | None = None
    name: str | None = Field(default=None, max_length=255, description="Name for the transcription")
    configuration_id: str | None = None
    # Processing hints (additions): force a language, bound the number of speakers.
    language: str | None = None
    num_speakers: int | None = Field(default=None, ge=1, le=20)
    min_speakers: int | None = Field(default=None, ge=1, le=20)
    max_speakers: int | None = Field(default=None, ge=1, le=20)

    @field_validator("customer_email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "@" not in value or value.startswith("@") or value.endswith("@") or " " in value:
            raise ValueError("is not an email address")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return None if value is None else _check_language(value)

    @model_validator(mode="after")
    def _extra_keys_are_few_and_small(self) -> IngestMetadata:
        extra = self.model_extra or {}
        if len(extra) > MAX_EXTRA_KEYS:
            raise ValueError(f"has {len(extra)} extra keys; at most {MAX_EXTRA_KEYS} are kept")
        try:
            size = len(json.dumps(extra, ensure_ascii=False, default=str).encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate ("\\ud800" in the JSON): not text the store can keep
            raise ValueError("holds text that is not valid Unicode (a lone surrogate such as \\ud800)") from None
        if size > MAX_EXTRA_BYTES:
            raise ValueError(f"extra keys take {size} bytes as JSON; at most {MAX_EXTRA_BYTES} are kept")
        return self

    @property
    def phone(self) -> str | None:
        """The customer's phone, whichever key the client used."""
        return self.customer_phone or self.caller_phone

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude={"configuration_id"})

    def identified(self, default_region: str) -> tuple[dict[str, Any], str | None, str | None]:
        """``(stored, phone, email)``: what the transcription keeps, with the customer's normalised phone
        and email added, and those two (the keys customers are matched by)."""
        phone, email = normalize_phone(self.phone, default_region), normalize_email(self.customer_email)
        stored = self.stored()
        if phone:
            stored["normalized_phone"] = phone
        if email:
            stored["normalized_email"] = email
        return stored, phone, email


class TranscriptIngest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcript_text: str = Field(min_length=1, max_length=MAX_TRANSCRIPT_CHARS)
    metadata: IngestMetadata = Field(default_factory=IngestMetadata)
    configuration_id: str | None = None

    @field_validator("transcript_text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def chosen_configuration(self) -> str | None:
        return self.configuration_id or self.metadata.configuration_id


class AudioUrlIngest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audio_url: str = Field(min_length=1, max_length=4096)
    metadata: IngestMetadata = Field(default_factory=IngestMetadata)
    configuration_id: str | None = None

    @property
    def chosen_configuration(self) -> str | None:
        return self.configuration_id or self.metadata.configuration_id
