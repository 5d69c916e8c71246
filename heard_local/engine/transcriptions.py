"""Stored conversations: reading, listing, naming, grouping and deleting them."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from pathlib import Path

from heard_local.domain import Page, Transcription, TranscriptionFilter, TranscriptionGroup
from heard_local.errors import ConflictError, ValidationError
from heard_local.store import Store

# Bounds of one page of the transcription list.
_MAX_LIMIT = 1000
_MAX_NAME = 255


class TranscriptionService:
    def __init__(self, store: Store, busy_jobs: Callable[[], builtins.list[str]]):
        self._store = store
        self._busy_jobs = busy_jobs  # ids of the jobs the workers are running now

    def get(self, transcription_id: str) -> Transcription:
        return self._store.transcriptions.get(transcription_id)

    def list(self, flt: TranscriptionFilter | None = None, *, limit: int = 50, offset: int = 0) -> Page:
        if not 1 <= limit <= _MAX_LIMIT:
            raise ValidationError(f"limit must be between 1 and {_MAX_LIMIT}", field="limit")
        if offset < 0:
            raise ValidationError("offset must not be negative", field="offset")
        return self._store.transcriptions.list(flt or TranscriptionFilter(), limit=limit, offset=offset)

    def set_group(self, transcription_id: str, group: TranscriptionGroup | str | None) -> Transcription:
        if isinstance(group, str):
            try:
                group = TranscriptionGroup(group)
            except ValueError:
                raise ValidationError(
                    "group must be one of PENDING_REVIEW, UNDER_REVIEW, ARCHIVED or null", field="group"
                ) from None
        self._store.transcriptions.set_group(transcription_id, group)
        return self.get(transcription_id)

    def rename_speaker(self, transcription_id: str, speaker: str, name: str | None) -> Transcription:
        self._store.transcriptions.rename_speaker(transcription_id, speaker, name)
        return self.get(transcription_id)

    def rename(self, transcription_id: str, name: str | None) -> Transcription:
        if name is not None and len(name) > _MAX_NAME:
            raise ValidationError(f"name must be at most {_MAX_NAME} characters", field="name")
        self._store.transcriptions.set_name(transcription_id, name)
        return self.get(transcription_id)

    def delete(self, transcription_id: str) -> None:
        """The conversation, its jobs and webhooks, and its media file unless another conversation has
        the same content. Refused while a worker is processing it."""
        job = self._store.jobs.latest_for_transcription(transcription_id)
        if job is not None and job.job_id in self._busy_jobs():
            raise ConflictError("This transcription is being processed right now; try again when it finishes.",
                                field="transcription_id")
        with self._store.db.write() as cur:
            media = self._store.transcriptions.delete(cur, transcription_id)
            still_used = bool(media) and self._store.transcriptions.media_in_use(cur, media)
        if media and not still_used:
            Path(media).unlink(missing_ok=True)

    def media_path(self, transcription_id: str) -> Path | None:
        media = self._store.transcriptions.media_path(transcription_id)
        return Path(media) if media else None
