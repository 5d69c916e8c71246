"""The export endpoints of the HTTP API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import unquote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.engine import Engine
from heard_local.engine.snapshots import TABLE_NAMES
from tests.exports.conftest import Filled

ADMIN = "admin-token-for-tests"


@pytest.fixture
def api(filled: Filled) -> Iterator[TestClient]:
    with TestClient(create_app(filled.engine, admin_token=ADMIN), headers={"X-API-Key": ADMIN}) as client:
        yield client


@pytest.mark.parametrize(("fmt", "media_type", "starts"), [
    ("txt", "text/plain; charset=utf-8", "[00:02] Agent: Thank you for calling"),
    ("srt", "application/x-subrip; charset=utf-8", "1\n00:00:02,000 --> 00:00:06,000\nAgent: Thank you"),
    ("vtt", "text/vtt; charset=utf-8", "WEBVTT\n\n00:00:02.000 --> 00:00:06.000\n<v Agent>Thank you"),
    ("json", "application/json", "{"),
])
def test_a_transcription_in_each_format(api: TestClient, filled: Filled, fmt: str, media_type: str,
                                        starts: str) -> None:
    response = api.get(f"/api/v1/exports/transcriptions/{filled.ids[0]}", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.text.startswith(starts)
    assert response.headers["content-disposition"] == f'attachment; filename="Declined card.{fmt}"; ' \
                                                      f"filename*=UTF-8''Declined%20card.{fmt}"
    if fmt == "json":
        assert response.json() == api.get(f"/api/v1/transcriptions/{filled.ids[0]}").json()


def test_non_ascii_names_get_an_ascii_fallback_filename(api: TestClient, filled: Filled) -> None:
    response = api.get(f"/api/v1/exports/transcriptions/{filled.ids[2]}", params={"format": "srt", "download": False})
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="Close savings _ Zo_.srt"')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Close savings — Zoë.srt"


def test_transcription_export_errors(api: TestClient, filled: Filled) -> None:
    missing = api.get("/api/v1/exports/transcriptions/nope", params={"format": "srt"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    bad = api.get(f"/api/v1/exports/transcriptions/{filled.ids[0]}", params={"format": "docx"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "format"
    anonymous = api.get(f"/api/v1/exports/transcriptions/{filled.ids[0]}", headers={"X-API-Key": "wrong"})
    assert anonymous.status_code == 401


def test_an_unfinished_transcription_has_no_subtitles_yet(settings: object) -> None:
    with Engine.open(settings, workers=False) as engine:  # type: ignore[arg-type]
        submission = engine.ingest.transcript({"transcript_text": "Agent: hello"})
        with TestClient(create_app(engine, admin_token=ADMIN), headers={"X-API-Key": ADMIN}) as api:
            path = f"/api/v1/exports/transcriptions/{submission.job.transcription_id}"
            conflict = api.get(path, params={"format": "vtt"})
            assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "CONFLICT"
            assert api.get(path, params={"format": "json"}).json()["status"] == "PENDING"


def test_fields_as_csv(api: TestClient, filled: Filled) -> None:
    response = api.get("/api/v1/exports/fields", params={"configuration": "Support"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="fields.csv"' in response.headers["content-disposition"]
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8"), newline=""))
    assert header[-4:] == ["reason", "resolved", "amount", "products"] and len(rows) == len(filled.ids)
    excel = api.get("/api/v1/exports/fields", params={"layout": "long", "excel": True})
    assert excel.content.startswith("\ufeff".encode())
    assert pd.read_csv(io.BytesIO(excel.content), encoding="utf-8-sig").shape == (16, 8)
    assert api.get("/api/v1/exports/fields", params={"configuration": "nope"}).status_code == 404
    assert api.get("/api/v1/exports/fields", params={"layout": "sideways"}).status_code == 400


def test_parquet_snapshot_over_http(api: TestClient, filled: Filled) -> None:
    manifest = api.post("/api/v1/exports/parquet").json()
    assert set(manifest["tables"]) == set(TABLE_NAMES)
    assert manifest["tables"]["transcriptions"]["rows"] == len(filled.ids)
    assert api.get("/api/v1/exports/parquet").json() == manifest
    response = api.get("/api/v1/exports/parquet/segments")
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    assert int(response.headers["content-length"]) == len(response.content)
    segments = pd.read_parquet(io.BytesIO(response.content))
    assert len(segments) == manifest["tables"]["segments"]["rows"]
    assert api.get("/api/v1/exports/parquet/api_keys").status_code == 404
    assert api.get("/api/v1/exports/parquet/..%2Fheard.duckdb").status_code == 404
    # The ingestion document's /v1 prefix works too.
    assert api.get("/v1/exports/parquet/customers.parquet").status_code == 200
