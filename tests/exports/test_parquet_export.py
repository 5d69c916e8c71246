"""Every table as Parquet: readable by DuckDB and pandas with the right row counts, consistent,
replaced atomically, rewritten only after a change, and without secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from heard_local.engine.snapshots import MANIFEST_NAME, TABLE_NAMES, read_manifest
from tests.exports.conftest import Filled
from tests.support.engine_internals import store_of

SOURCES = {"transcriptions": "transcriptions", "segments": "segments", "fields": "extracted_fields",
           "customers": "customers", "customer_identifiers": "customer_identifiers",
           "configurations": "configurations", "jobs": "jobs"}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where a test exports to (beside the data directory, not in it)."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def parquet_rows(path: Path) -> int:
    return duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]


def test_every_table_is_readable_by_duckdb_with_its_row_count(filled: Filled, out: Path) -> None:
    manifest = filled.engine.exports.parquet(out)
    assert set(TABLE_NAMES) == set(SOURCES)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST_NAME, *(f"{t}.parquet" for t in SOURCES)])
    for name, source in SOURCES.items():
        stored = store_of(filled.engine).db.fetchone(f"SELECT count(*) FROM {source}")[0]
        assert stored > 0, source
        assert parquet_rows(out / f"{name}.parquet") == stored == manifest["tables"][name]["rows"], name
    assert manifest["directory"] == str(out.resolve())
    assert read_manifest(out) == manifest


def test_exported_columns_are_ready_for_analysis(filled: Filled, out: Path) -> None:
    filled.engine.transcriptions.rename_speaker(filled.ids[0], "SPEAKER_00", "Sam")
    filled.engine.exports.parquet(out)
    segments = pd.read_parquet(out / "segments.parquet")
    first = segments[segments.transcription_id == filled.ids[0]].sort_values("segment_index")
    assert list(first.speaker_label) == ["Sam", "Customer", "Sam", "Customer"]
    assert list(first.speaker_role) == ["Agent", "Customer", "Agent", "Customer"]
    assert list(first.duration_s) == [4.0, 8.0, 7.0, first.duration_s.iloc[3]]
    assert first.word_count.iloc[0] == 7  # "Thank you for calling, this is Sam."
    transcriptions = duckdb.sql(f"SELECT * FROM read_parquet('{out / 'transcriptions.parquet'}')")
    types = dict(zip(transcriptions.columns, (str(t) for t in transcriptions.types), strict=True))
    assert types["conversation_at"] == "TIMESTAMP WITH TIME ZONE"
    by_name = pd.read_parquet(out / "transcriptions.parquet").set_index("name")
    assert str(by_name.loc["Declined card", "conversation_at"]) == "2024-03-01 09:15:00+00:00"
    assert by_name.loc["Declined card", "configuration_tag"] == "Support"
    assert json.loads(by_name.loc["Declined card", "metadata"])["normalized_email"] == "jordan.lee@example.com"
    fields = pd.read_parquet(out / "fields.parquet")
    declined = fields[fields.transcription_id == filled.ids[0]].set_index("name")
    assert declined.loc["amount", "value_number"] == 42.5
    assert bool(declined.loc["resolved", "value_boolean"]) is True
    assert declined.loc["reason", "value_text"] == "card declined"
    assert json.loads(declined.loc["products", "value_json"]) == ["debit card"]
    customers = pd.read_parquet(out / "customers.parquet").set_index("conversation_count")
    jordan = customers.loc[3]  # email, email + phone, phone: one person
    assert list(jordan.emails) == ["jordan.lee@example.com"] and list(jordan.phones) == ["+14155550142"]
    assert list(customers.loc[2].phones) == []


def test_no_secrets_leave(filled: Filled, out: Path) -> None:
    filled.engine.keys.create("ci")
    filled.engine.configurations.create({"tag": "Hooks", "webhooks": {"success_url": "https://example.com/h?t=s3cret"}})
    filled.engine.exports.parquet(out)
    everything = b"".join(p.read_bytes() for p in out.iterdir())
    assert b"s3cret" not in everything and b"webhook_secret" not in everything
    assert "payload" not in pq.read_schema(out / "jobs.parquet").names
    assert "media_path" not in pq.read_schema(out / "transcriptions.parquet").names


def test_unchanged_data_is_not_rewritten_and_changes_are(filled: Filled, out: Path) -> None:
    first = filled.engine.exports.parquet(out)
    inode = os.stat(out / "segments.parquet").st_ino
    assert filled.engine.exports.parquet(out) == first
    assert os.stat(out / "segments.parquet").st_ino == inode
    filled.engine.transcriptions.set_group(filled.ids[1], "ARCHIVED")
    second = filled.engine.exports.parquet(out)
    assert second["fingerprint"] != first["fingerprint"]
    groups = duckdb.execute(f"SELECT \"group\" FROM read_parquet('{out / 'transcriptions.parquet'}') "
                        f"WHERE transcription_id = '{filled.ids[1]}'").fetchone()
    assert groups == ("ARCHIVED",)
    assert filled.engine.exports.parquet(out, force=True)["exported_at"] >= second["exported_at"]


def test_files_are_replaced_atomically(filled: Filled, out: Path) -> None:
    """A reader holding the old file keeps reading it whole; new readers see the new one; no temp
    files stay behind."""
    filled.engine.exports.parquet(out)
    old_reader = pq.ParquetFile(out / "segments.parquet")
    old_rows = old_reader.metadata.num_rows
    filled.engine.transcriptions.delete(filled.ids[0])
    filled.engine.exports.parquet(out)
    assert old_reader.read().num_rows == old_rows
    assert parquet_rows(out / "segments.parquet") == old_rows - 4
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_killed_exports_leftovers_are_cleaned(filled: Filled, out: Path) -> None:
    (out / ".segments.dead.parquet.tmp").write_bytes(b"half a file")
    filled.engine.exports.parquet(out)
    assert not (out / ".segments.dead.parquet.tmp").exists()


def test_the_default_directory_is_the_data_dirs_exports(filled: Filled) -> None:
    manifest = filled.engine.exports.parquet()
    directory = filled.engine.settings.data_dir / "exports"
    assert manifest["directory"] == str(directory.resolve())
    assert parquet_rows(directory / "transcriptions.parquet") == len(filled.ids)
