"""Exports for notebooks, BI tools and spreadsheets: Parquet snapshots of every table, and the
extracted fields of completed conversations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from heard_local.config import Settings
from heard_local.engine.configurations import ConfigurationService
from heard_local.engine.snapshots import snapshot_is_current, write_snapshot
from heard_local.store import Store
from heard_local.store.export import FieldExport, field_export


class ExportService:
    def __init__(self, store: Store, settings: Settings, configurations: ConfigurationService):
        self._store = store
        self._settings = settings
        self._configurations = configurations

    def parquet(self, directory: Path | None = None, *, force: bool = False) -> dict[str, Any]:
        """Every table as ``<name>.parquet`` in ``directory`` (default: the data directory's exports/,
        which a running server keeps fresh); skipped when the snapshot there is already current.
        Returns the snapshot's manifest (when, where, rows per table)."""
        return write_snapshot(self._store, directory or self._settings.export_dir, force=force)

    def parquet_is_current(self, directory: Path | None = None) -> bool:
        """Whether the snapshot in ``directory`` (default: exports/) holds what the database holds now."""
        return snapshot_is_current(self._store, directory or self._settings.export_dir)

    def fields(self, configuration: str | None = None) -> FieldExport:
        """Completed conversations with their extracted fields, for one configuration (id or tag) or all."""
        configuration_id = self._configurations.resolve(configuration).configuration_id if configuration else None
        return field_export(self._store.db, configuration_id)
