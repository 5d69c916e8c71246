"""Conversations as pandas DataFrames, with no boilerplate, in a notebook or a script.

    from heard_local.notebook import connect

    heard = connect()                   # $HEARD_DATA_DIR, else the default data directory
    heard.transcriptions                # one row per conversation
    heard.segments                      # one row per speaker turn (speaker_label, start_s, duration_s…)
    heard.fields                        # one row per extracted field value
    heard.customers                     # one row per recognised customer
    heard.sql("SELECT speaker_label, sum(duration_s) FROM segments GROUP BY ALL")
    heard.refresh()                     # pick up what changed since

How it reaches the data depends on who owns the data directory (DuckDB allows one writer process):

- ``server``: a ``heard-local serve`` runs. Tables are read from the Parquet snapshot it keeps in
  ``<data dir>/exports``; :meth:`Heard.refresh` asks it to bring the snapshot up to date first, and
  ``heard.client`` is an HTTP client (admin) for ingesting and changing things.
- ``local``: nothing else runs. The engine opens in this process (jobs run here too) and writes the
  snapshot itself; ``heard.client`` has the same methods. Call :meth:`Heard.close` (or use ``with``)
  before starting ``heard-local serve`` on the same directory.
- ``snapshot``: another process holds the directory without a server (e.g. another notebook). The
  last Parquet snapshot is read as it is, and ``heard.client`` is None.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd

from heard_local.config import Settings
from heard_local.domain import Transcription, normalize_email, normalize_phone
from heard_local.engine.snapshots import TABLE_NAMES, read_manifest
from heard_local.errors import DataDirLockedError, NotFoundError, ValidationError
from heard_local.exports.transcript_formats import render

log = logging.getLogger(__name__)

Mode = Literal["server", "local", "snapshot"]

# Engines this process opened, by data directory: a second connect() reuses the first.
_local_sessions: dict[Path, Heard] = {}


class Heard:
    """One data directory's conversations as DataFrames (see the module's documentation)."""

    def __init__(self, *, mode: Mode, settings: Settings, client: Any):
        self.mode: Mode = mode
        self.settings = settings
        self.client = client  # HeardClient (server mode), LocalClient (local mode) or None (snapshot)
        self._db = duckdb.connect()
        self._frames: dict[str, pd.DataFrame] = {}
        self.manifest: dict[str, Any] = {}
        self.closed = False

    # --- data -------------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def export_dir(self) -> Path:
        return self.settings.export_dir

    def refresh(self) -> Heard:
        """Bring the Parquet snapshot up to date (not in ``snapshot`` mode) and re-read it."""
        self._require_open()
        if self.client is not None:
            self.manifest = self.client.refresh_parquet()
        else:
            manifest = read_manifest(self.export_dir)
            if manifest is None:
                raise NotFoundError(f"No Parquet snapshot in {self.export_dir} yet. Start `heard-local serve` "
                                    "(it writes one) or stop the process holding the data directory.")
            self.manifest = manifest
        for name in TABLE_NAMES:
            path = str(self.export_dir / f"{name}.parquet").replace("'", "''")
            self._db.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        self._frames.clear()
        return self

    def table(self, name: str) -> pd.DataFrame:
        """One exported table as a DataFrame (cached until :meth:`refresh`)."""
        self._require_open()
        if name not in TABLE_NAMES:
            raise ValidationError(f"Unknown table {name!r}; tables: {', '.join(TABLE_NAMES)}", field="table")
        if name not in self._frames:
            self._frames[name] = self._frame(f"SELECT * FROM {name}")
        return self._frames[name]

    @property
    def transcriptions(self) -> pd.DataFrame:
        return self.table("transcriptions")

    @property
    def segments(self) -> pd.DataFrame:
        return self.table("segments")

    @property
    def fields(self) -> pd.DataFrame:
        return self.table("fields")

    @property
    def customers(self) -> pd.DataFrame:
        return self.table("customers")

    @property
    def customer_identifiers(self) -> pd.DataFrame:
        return self.table("customer_identifiers")

    @property
    def configurations(self) -> pd.DataFrame:
        return self.table("configurations")

    @property
    def jobs(self) -> pd.DataFrame:
        return self.table("jobs")

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """DuckDB SQL over the tables (``transcriptions``, ``segments``, ``fields``, ``customers``,
        ``customer_identifiers``, ``configurations``, ``jobs``) as a DataFrame."""
        self._require_open()
        return self._frame(query, params)

    def _frame(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        # Through Arrow: duckdb's own .df() warns about pandas deprecations on every time-zone column.
        return self._db.sql(query, params=params or None).to_arrow_table().to_pandas()

    # --- conversations ----------------------------------------------------------------------------

    def transcription(self, transcription_id: str) -> Transcription:
        """One transcription in the API's shape (as a pydantic model), fresh from the engine."""
        if self.client is None:
            raise ValidationError("Reading single transcriptions needs the engine or a running server; "
                                  "this session only has the Parquet snapshot.")
        return Transcription.model_validate(self.client.transcription(transcription_id))

    def transcript(self, transcription_id: str, fmt: str = "txt") -> str:
        """The transcript as txt (speaker-labelled), srt, vtt or json."""
        return render(self.transcription(transcription_id), fmt)

    def customer_history(self, customer_id: str | None = None, *, email: str | None = None,
                         phone: str | None = None) -> pd.DataFrame:
        """Every conversation of one customer (by id, email or phone), oldest first."""
        if customer_id is None:
            customer_id = self._find_customer(email=email, phone=phone)
        history = self.sql(
            "SELECT t.conversation_at, t.transcription_id, t.name, t.channel, t.status, t.language, t.duration, "
            "t.summary FROM transcriptions t WHERE t.customer_id = ? ORDER BY t.conversation_at",
            [customer_id])
        if history.empty and self.sql("SELECT 1 FROM customers WHERE customer_id = ?", [customer_id]).empty:
            raise NotFoundError(f"Customer {customer_id} not found", field="customer_id")
        return history

    def _find_customer(self, *, email: str | None, phone: str | None) -> str:
        wanted = [("email", normalize_email(email)),
                  ("phone", normalize_phone(phone, self.settings.default_phone_region))]
        for kind, value in wanted:
            if value:
                found = self.sql("SELECT customer_id FROM customer_identifiers WHERE kind = ? AND value = ?",
                                 [kind, value])
                if not found.empty:
                    return str(found.customer_id.iloc[0])
        if not any(value for _, value in wanted):
            raise ValidationError("Give a customer_id, an email or a phone", field="customer_id")
        raise NotFoundError(f"No customer with {' or '.join(v for _, v in wanted if v)}", field="customer_id")

    # --- lifecycle --------------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self.closed:
            raise ValidationError("This heard-local session is closed; call heard_local.notebook.connect() again")

    def close(self) -> None:
        """Close the snapshot connection and the client (in ``local`` mode: the engine, freeing the data
        directory for ``heard-local serve``)."""
        if self.closed:
            return
        self.closed = True
        self._db.close()
        if self.client is not None:
            self.client.close()
        _local_sessions.pop(self.data_dir.resolve(), None)

    def __enter__(self) -> Heard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        rows = ", ".join(f"{name}={table['rows']}" for name, table in (self.manifest.get("tables") or {}).items())
        state = "closed" if self.closed else f"snapshot {self.manifest.get('exported_at', '?')}"
        return f"<heard-local {self.mode} session on {self.data_dir} ({state}: {rows})>"


def connect(data_dir: str | Path | None = None, *, settings: Settings | None = None,
            workers: bool = True) -> Heard:
    """A :class:`Heard` session on ``data_dir`` (default ``$HEARD_DATA_DIR`` or heard-local's data
    directory), through the running server if there is one, else in this process.

    ``workers=False`` opens a local engine without running jobs (read and export only).
    """
    from heard_local.client import HeardClient

    settings = settings or Settings()
    if data_dir is not None:
        settings = settings.with_overrides(data_dir=Path(data_dir).expanduser().resolve())
    key = settings.data_dir.resolve()
    existing = _local_sessions.get(key)
    if existing is not None and not existing.closed:
        return existing.refresh()

    remote = HeardClient.for_data_dir(settings.data_dir, timeout=300.0)
    if remote is not None:
        return Heard(mode="server", settings=settings, client=remote).refresh()

    from heard_local.engine import Engine
    from heard_local.local_client import LocalClient

    try:
        engine = Engine.open(settings, workers=workers)
    except DataDirLockedError as exc:
        if read_manifest(settings.export_dir) is None:
            raise
        warnings.warn(f"{exc.message} Reading its last Parquet snapshot instead (read-only, may be stale).",
                      stacklevel=2)
        return Heard(mode="snapshot", settings=settings, client=None).refresh()
    session = Heard(mode="local", settings=settings, client=LocalClient(engine))
    _local_sessions[key] = session
    try:
        return session.refresh()
    except BaseException:
        session.close()
        raise
