"""The engine: the one object every front door (API, UI, watcher, CLI, notebooks) talks to.

It is a composition root. It owns the data directory through its :class:`Lifecycle` (lock, DuckDB,
media helpers, workers, models) and hands front doors one service per resource:

- ``engine.ingest``: transcripts, audio files and URLs in (engine/ingest.py)
- ``engine.jobs``: the queue, waiting on a job, LLM re-runs (engine/jobs.py)
- ``engine.transcriptions``: stored conversations (engine/transcriptions.py)
- ``engine.configurations`` (engine/configurations.py), ``engine.customers`` (engine/customers.py),
  ``engine.keys`` (engine/keys.py), ``engine.analytics`` (engine/analytics.py) and
  ``engine.exports`` (engine/exports.py)
- ``engine.voices``: voice profiles (engine/voices.py); ``engine.corrections``: undoable transcript
  corrections (engine/corrections.py)

The store is private to the engine: front doors never reach the database, the adapters or the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from heard_local.config import Settings
from heard_local.data_dir_lock import DataDirLock
from heard_local.domain.clock import utcnow
from heard_local.engine.analytics import AnalyticsService
from heard_local.engine.configurations import ConfigurationService
from heard_local.engine.corrections import TranscriptCorrections
from heard_local.engine.customers import CustomerService
from heard_local.engine.exports import ExportService
from heard_local.engine.ingest import IngestService
from heard_local.engine.jobs import JobService
from heard_local.engine.keys import KeyService
from heard_local.engine.lifecycle import Lifecycle, Service, open_data_dir
from heard_local.engine.transcriptions import TranscriptionService
from heard_local.engine.voices import VoiceProfiles
from heard_local.store import Store

if TYPE_CHECKING:
    from heard_local.engine.webhooks import WebhookDeliverer


class Engine:
    def __init__(self, settings: Settings, store: Store, lock: DataDirLock):
        self.settings = settings
        self._store = store
        self._lifecycle = Lifecycle(settings, store, lock)
        self.configurations = ConfigurationService(store.configurations, settings)
        self.ingest = IngestService(store, self._lifecycle, self.configurations)
        self.jobs = JobService(store, self._lifecycle)
        self.transcriptions = TranscriptionService(store, self._lifecycle.busy_jobs)
        self.customers = CustomerService(store.customers, store.transcriptions, settings)
        self.keys = KeyService(store.api_keys)
        self.analytics = AnalyticsService(store, self._lifecycle.models, settings, self.configurations)
        self.exports = ExportService(store, settings, self.configurations)
        self.voices: VoiceProfiles = self._lifecycle.runner.voices  # remember, list, forget (engine/voices.py)
        self.corrections = TranscriptCorrections(store)  # undoable edits of finished transcripts

    # --- lifecycle --------------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings | None = None, *, workers: bool = True,
             clock: Callable[[], datetime] = utcnow) -> Engine:
        """Take the data directory, migrate the database, resume interrupted jobs, start workers.
        ``clock``: the time stored records' TTLs are measured by (tests move it by hand)."""
        settings = settings or Settings()
        store, lock = open_data_dir(settings, clock=clock)
        engine = cls(settings, store, lock)
        engine._lifecycle.resume_interrupted()
        if workers:
            engine.start_workers()
        return engine

    def start_workers(self) -> None:
        self._lifecycle.start_workers()

    def add_service(self, service: Service, *, start: bool = True) -> None:
        """Run ``service`` as long as the engine (``close`` stops it, the last added first)."""
        self._lifecycle.add_service(service, start=start)

    def webhook_deliverer(self, **options: Any) -> WebhookDeliverer:
        """A deliverer of this engine's webhook outbox (start it with ``add_service``); ``options`` go to
        :class:`heard_local.engine.webhooks.WebhookDeliverer` (``resolver=`` in tests)."""
        from heard_local.engine.webhooks import WebhookDeliverer  # httpcore and certifi: only for a server

        return WebhookDeliverer(self._store, self.settings, **options)

    def close(self) -> None:
        self._lifecycle.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- status -----------------------------------------------------------------------------------

    def services_status(self) -> dict[str, Any]:
        """What the background services that report on themselves say, by class name (the watcher:
        its folders and their last activity)."""
        return self._lifecycle.services_status()

    def check_store(self) -> None:
        """Read the database once; raises when it cannot be read (/health: a supervisor must see it)."""
        self._store.db.fetchone("SELECT count(*) FROM (SELECT 1 FROM jobs LIMIT 1)")

    def llm_health(self) -> dict[str, Any]:
        """Ollama's state for the UI, API and CLI: ``status`` running / not_running / model_not_pulled /
        error, ``ok``, ``host``, ``model``, ``available_models`` and a ``message`` saying what to do."""
        try:
            llm = self._lifecycle.models.llm.get()
        except ImportError as exc:
            return {"status": "error", "ok": False, "host": self.settings.ollama_host,
                    "model": self.settings.ollama_model, "available_models": [],
                    "message": f"The ollama Python package is missing ({exc}); reinstall heard-local."}
        return llm.health()

    def status(self) -> dict[str, Any]:
        models = self._lifecycle.models
        return {
            "data_dir": str(self.settings.data_dir),
            "jobs": self._store.jobs.counts(),
            "workers": {"heavy": self.settings.heavy_workers, "light": self.settings.light_workers,
                        "busy": self._lifecycle.busy_jobs()},
            "models": {m.name: m.status() for m in models.all()},
            "webhooks_pending": self._store.webhooks.pending_count(),
            "services": self.services_status(),
        }
