"""DuckDB storage: schema and migrations, one writer, every SQL statement of heard-local."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from heard_local.domain.clock import utcnow
from heard_local.store.analytics import AnalyticsRepo
from heard_local.store.api_keys import ApiKeyRepo
from heard_local.store.configurations import ConfigurationRepo
from heard_local.store.customers import CustomerRepo
from heard_local.store.database import Database
from heard_local.store.fetched_media import FetchedMediaRepo
from heard_local.store.idempotency import IdempotencyRepo
from heard_local.store.ingests import IngestWriter
from heard_local.store.jobs import JobRepo, NewJob
from heard_local.store.model_speed import ModelSpeedRepo
from heard_local.store.redactions import RedactionRepo
from heard_local.store.segment_edits import SegmentEditRepo
from heard_local.store.transcriptions import NewTranscription, TranscriptionRepo
from heard_local.store.voices import VoiceRepo
from heard_local.store.webhooks import WebhookOutbox


class Store:
    """The database and its tables, one repository per resource."""

    def __init__(self, path: Path | str, *, read_only: bool = False, clock: Callable[[], datetime] = utcnow):
        """``clock``: the time TTLs of stored records (idempotency keys) are measured by."""
        self.db = Database(path, read_only=read_only)
        self.configurations = ConfigurationRepo(self.db)
        self.transcriptions = TranscriptionRepo(self.db)
        self.jobs = JobRepo(self.db)
        self.customers = CustomerRepo(self.db)
        self.api_keys = ApiKeyRepo(self.db)
        self.webhooks = WebhookOutbox(self.db)
        self.model_speed = ModelSpeedRepo(self.db)
        self.idempotency = IdempotencyRepo(self.db, clock=clock)
        self.fetched_media = FetchedMediaRepo(self.db)
        self.analytics = AnalyticsRepo(self.db)
        self.voices = VoiceRepo(self.db)
        self.segment_edits = SegmentEditRepo(self.db)
        self.redactions = RedactionRepo(self.db)
        self.ingests = IngestWriter(self.db, self.jobs, self.transcriptions, self.customers)

    def close(self) -> None:
        self.ingests.close()
        self.db.close()


__all__ = ["NewJob", "NewTranscription", "Store"]
