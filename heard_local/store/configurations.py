"""Configurations table."""

from __future__ import annotations

import json
import uuid
from typing import Any

from heard_local.domain import MAX_CONFIGURATIONS, Configuration, ConfigurationInput
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.domain.configuration import DEFAULT_CONFIGURATION_TAG, EXTRA_ATTRIBUTES
from heard_local.domain.webhook_signature import new_secret
from heard_local.errors import ConflictError, NotFoundError
from heard_local.store.database import Database

LOCAL_CLIENT_ID = "local"
_COLUMNS = (
    "configuration_id, client_id, tag, vocabulary, extraction_fields, webhooks, summary, "
    "summary_language, analytics_language, is_default, created_at, updated_at, extras"
)


def _extras(data: ConfigurationInput) -> str:
    return json.dumps(data.model_dump(mode="json", include=set(EXTRA_ATTRIBUTES)))


def _row_to_configuration(row: tuple[Any, ...]) -> Configuration:
    (cid, client_id, tag, vocabulary, fields, webhooks, summary, summary_language,
     analytics_language, is_default, created_at, updated_at, extras) = row
    return Configuration(
        configuration_id=cid,
        client_id=client_id,
        tag=tag,
        vocabulary=json.loads(vocabulary),
        extraction_fields=json.loads(fields),
        webhooks=json.loads(webhooks) if webhooks else None,
        summary=summary,
        summary_language=summary_language,
        analytics_language=analytics_language,
        is_default=is_default,
        created_at=from_db(created_at),
        updated_at=from_db(updated_at),
        **(json.loads(extras) if extras else {}),
    )


class ConfigurationRepo:
    def __init__(self, db: Database):
        self.db = db
        # Every ingest reads its configuration; they change rarely, so reads are cached and every write
        # here clears the cache (this process is the database's only writer).
        self._cache: dict[str, Configuration] = {}
        self._by_tag: dict[str, Configuration | None] = {}
        # Bumped by every write: a read that overlapped one must not fill the cache with what it saw.
        self._generation = 0

    def _forget(self) -> None:
        self._generation += 1
        self._cache.clear()
        self._by_tag.clear()

    def list(self) -> list[Configuration]:
        rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM configurations ORDER BY created_at, tag")
        return [_row_to_configuration(r) for r in rows]

    def get(self, configuration_id: str) -> Configuration:
        cached = self._cache.get(configuration_id)
        if cached is not None:
            return cached
        generation = self._generation
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM configurations WHERE configuration_id = ?",
                               [configuration_id])
        if row is None:
            raise NotFoundError(f"Configuration {configuration_id} not found", field="configuration_id")
        configuration = _row_to_configuration(row)
        if generation == self._generation:
            self._cache[configuration_id] = configuration
        return configuration

    def find_by_tag(self, tag: str) -> Configuration | None:
        key = tag.lower()
        if key in self._by_tag:
            return self._by_tag[key]
        generation = self._generation
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM configurations WHERE lower(tag) = lower(?) ORDER BY created_at LIMIT 1",
            [tag],
        )
        found = _row_to_configuration(row) if row else None
        if generation == self._generation:
            self._by_tag[key] = found
        return found

    def default(self) -> Configuration | None:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM configurations WHERE is_default LIMIT 1")
        return _row_to_configuration(row) if row else None

    def webhook_secret(self, configuration_id: str) -> str | None:
        row = self.db.fetchone("SELECT webhook_secret FROM configurations WHERE configuration_id = ?",
                               [configuration_id])
        return row[0] if row else None

    def create(self, data: ConfigurationInput, *, is_default: bool = False) -> tuple[Configuration, str]:
        """Store a new configuration; returns it and its webhook signing secret (shown once)."""
        with self.db.write() as cur:
            # The built-in default configuration does not count toward the documented limit.
            count_row = cur.execute("SELECT count(*) FROM configurations WHERE NOT is_default").fetchone()
            count = count_row[0] if count_row else 0
            if count >= MAX_CONFIGURATIONS and not is_default:
                raise ConflictError(
                    f"At most {MAX_CONFIGURATIONS} configurations are allowed; delete one first.",
                    details={"limit": MAX_CONFIGURATIONS},
                )
            configuration_id = str(uuid.uuid4())
            secret = new_secret()
            now = to_db(utcnow())
            cur.execute(
                "INSERT INTO configurations (configuration_id, client_id, tag, vocabulary, extraction_fields, "
                "webhooks, webhook_secret, summary, summary_language, analytics_language, is_default, "
                "created_at, updated_at, extras) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [configuration_id, LOCAL_CLIENT_ID, data.tag, json.dumps(data.vocabulary),
                 json.dumps([f.model_dump(mode="json") for f in data.extraction_fields]),
                 data.webhooks.model_dump_json() if data.webhooks else None, secret, data.summary,
                 data.summary_language, data.analytics_language, is_default, now, None, _extras(data)],
            )
        self._forget()  # a tag looked up before may name this one now
        return self.get(configuration_id), secret

    def replace(self, configuration_id: str, data: ConfigurationInput) -> Configuration:
        self._forget()
        with self.db.write() as cur:
            self.get(configuration_id)
            cur.execute(
                "UPDATE configurations SET tag = ?, vocabulary = ?, extraction_fields = ?, webhooks = ?, "
                "summary = ?, summary_language = ?, analytics_language = ?, updated_at = ?, extras = ? "
                "WHERE configuration_id = ?",
                [data.tag, json.dumps(data.vocabulary),
                 json.dumps([f.model_dump(mode="json") for f in data.extraction_fields]),
                 data.webhooks.model_dump_json() if data.webhooks else None, data.summary,
                 data.summary_language, data.analytics_language, to_db(utcnow()), _extras(data), configuration_id],
            )
            self._forget()
        self._forget()
        return self.get(configuration_id)

    def delete(self, configuration_id: str) -> None:
        with self.db.write() as cur:
            configuration = self.get(configuration_id)
            if configuration.is_default:
                raise ConflictError("The default configuration cannot be deleted.",
                                    field="configuration_id")
            in_use = cur.execute(
                "SELECT count(*) FROM transcriptions WHERE configuration_id = ?", [configuration_id]
            ).fetchone()
            if in_use and in_use[0]:
                raise ConflictError(
                    f"Configuration {configuration_id} is used by {in_use[0]} transcription(s); delete "
                    "them first.",
                    field="configuration_id",
                    details={"transcriptions": in_use[0]},
                )
            cur.execute("DELETE FROM configurations WHERE configuration_id = ?", [configuration_id])
            self._forget()
        self._forget()

    def ensure_default(self) -> Configuration:
        existing = self.default()
        if existing is not None:
            return existing
        configuration, _secret = self.create(ConfigurationInput(tag=DEFAULT_CONFIGURATION_TAG),
                                             is_default=True)
        return configuration
