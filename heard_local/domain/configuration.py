"""Configuration: a reusable processing preset (vocabulary, extraction fields, summary, webhooks)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from heard_local.domain.languages import DETECT, LANGUAGE_CODES
from heard_local.domain.redaction import RedactKind

MAX_CONFIGURATIONS = 20
MAX_TAG_LENGTH = 255
MAX_EXTRACTION_FIELDS = 20
MAX_VOCABULARY_TERMS = 500
MAX_VOCABULARY_TERM_LENGTH = 100
DEFAULT_CONFIGURATION_TAG = "Default"
MAX_INSTRUCTIONS_LENGTH = 2000
# Attributes heard-local adds beyond the documented Configuration; stored together (one JSON column).
EXTRA_ATTRIBUTES = ("summary_instructions", "analytics_instructions", "redact", "redact_audio")

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")


class ExtractionFieldType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"


class ExtractionField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Field identifier, e.g. ticket_id")
    type: ExtractionFieldType
    description: str = Field(min_length=1, max_length=4000, description="Guidance for the extraction")

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not _FIELD_NAME.match(value):
            raise ValueError(
                "must start with a letter or underscore and hold only letters, digits, '_' or '-' "
                "(at most 64 characters)"
            )
        return value


class Webhooks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success_url: str | None = None
    error_url: str | None = None

    @field_validator("success_url", "error_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if len(value) > 2048:  # first: the pattern below is not free on a megabyte of text
            raise ValueError("must be at most 2048 characters")
        if not re.match(r"^https?://[^\s/?#][^\s]*$", value):
            raise ValueError("must be an http:// or https:// URL")
        return value


def _check_language(value: str) -> str:
    if value != DETECT and value not in LANGUAGE_CODES:
        raise ValueError(f"'{value}' is not a supported language code (ISO 639-1, or 'df' to detect)")
    return value


Language = Annotated[str, Field(min_length=2, max_length=3)]


class ConfigurationInput(BaseModel):
    """What a client sends to create a configuration (and, all fields optional, to update one)."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, max_length=MAX_TAG_LENGTH)
    vocabulary: list[str] = Field(default_factory=list, max_length=MAX_VOCABULARY_TERMS)
    extraction_fields: list[ExtractionField] = Field(default_factory=list, max_length=MAX_EXTRACTION_FIELDS)
    webhooks: Webhooks | None = None
    summary: bool = False
    summary_language: Language = DETECT
    analytics_language: Language = DETECT
    # Extras beyond the documented attributes (see EXTRA_ATTRIBUTES); each is optional.
    summary_instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_LENGTH)
    analytics_instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_LENGTH)
    redact: list[RedactKind] = Field(default_factory=list, max_length=len(RedactKind))
    redact_audio: bool = False

    @field_validator("summary_instructions", "analytics_instructions")
    @classmethod
    def _instructions(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip() or None  # blank: today's summary

    @field_validator("redact")
    @classmethod
    def _unique_kinds(cls, value: list[RedactKind]) -> list[RedactKind]:
        return list(dict.fromkeys(value))

    @field_validator("tag")
    @classmethod
    def _tag_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("vocabulary")
    @classmethod
    def _vocabulary_terms(cls, value: list[str]) -> list[str]:
        terms = []
        for term in value:
            term = term.strip()
            if not term:
                continue
            if len(term) > MAX_VOCABULARY_TERM_LENGTH:
                raise ValueError(f"each term must be at most {MAX_VOCABULARY_TERM_LENGTH} characters")
            if term not in terms:
                terms.append(term)
        return terms

    @field_validator("summary_language", "analytics_language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _check_language(value)

    @model_validator(mode="after")
    def _unique_field_names(self) -> ConfigurationInput:
        names = [f.name for f in self.extraction_fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"extraction field names must be unique: {', '.join(duplicates)}")
        return self


class ConfigurationUpdate(BaseModel):
    """A partial update: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    tag: str | None = Field(default=None, min_length=1, max_length=MAX_TAG_LENGTH)
    vocabulary: list[str] | None = Field(default=None, max_length=MAX_VOCABULARY_TERMS)
    extraction_fields: list[ExtractionField] | None = Field(default=None, max_length=MAX_EXTRACTION_FIELDS)
    webhooks: Webhooks | None = None
    summary: bool | None = None
    summary_language: Language | None = None
    analytics_language: Language | None = None
    summary_instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_LENGTH)
    analytics_instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_LENGTH)
    redact: list[RedactKind] | None = Field(default=None, max_length=len(RedactKind))
    redact_audio: bool | None = None

    def apply_to(self, current: ConfigurationInput) -> ConfigurationInput:
        """The configuration after this update, validated as a whole."""
        merged: dict[str, Any] = current.model_dump(include=set(ConfigurationInput.model_fields))
        merged.update(self.model_dump(exclude_unset=True))
        return ConfigurationInput.model_validate(merged)


class Configuration(ConfigurationInput):
    """A stored configuration, as the API returns it."""

    model_config = ConfigDict(extra="forbid")

    configuration_id: str
    client_id: str
    created_at: datetime
    updated_at: datetime | None = None
    is_default: bool = False

    @property
    def extraction_field_names(self) -> list[str]:
        return [f.name for f in self.extraction_fields]

    def to_api(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["webhooks"] = data["webhooks"] or {"success_url": None, "error_url": None}
        return data
