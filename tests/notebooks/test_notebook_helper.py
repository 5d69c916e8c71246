"""heard_local.notebook.connect(): DataFrames with or without a running server."""

from __future__ import annotations

from pathlib import Path

import pytest

from heard_local.data_dir_lock import is_locked
from heard_local.engine import Engine
from heard_local.errors import NotFoundError, ValidationError
from heard_local.notebook import connect
from tests.exports.helpers import live_server, quiet_settings

NEW_CALL = "[00:00:01] Agent: Fresh call.\n[00:00:04] Customer: Fresh answer."


def test_in_process_session(data_dir: Path) -> None:
    settings = quiet_settings(data_dir)
    with connect(settings=settings) as heard:
        assert heard.mode == "local" and is_locked(data_dir / "heard.lock")
        assert len(heard.transcriptions) == 5 and set(heard.transcriptions.status) == {"COMPLETED"}
        assert len(heard.segments) == 18 and len(heard.fields) == 16 and len(heard.customers) == 2
        assert connect(settings=settings) is heard  # the same kernel reuses its engine
        talk = heard.sql("SELECT speaker_label, sum(duration_s) AS s FROM segments GROUP BY ALL ORDER BY s DESC")
        assert list(talk.speaker_label) == ["Customer", "Agent"]
        jordan = heard.customer_history(email="JORDAN.LEE@example.com")
        assert list(jordan.name) == ["Declined card", "Limit increase", "Close savings — Zoë"]
        by_phone = heard.customer_history(phone="(415) 555-0142")
        assert list(by_phone.transcription_id) == list(jordan.transcription_id)
        with pytest.raises(NotFoundError):
            heard.customer_history(email="nobody@example.com")
        with pytest.raises(ValidationError):
            heard.customer_history()
        with pytest.raises(ValidationError):
            heard.table("api_keys")

        job = heard.client.ingest_transcript(NEW_CALL, metadata={"name": "Fresh"})
        heard.client.wait_for_job(job["job_id"], timeout=60)
        assert len(heard.transcriptions) == 5  # a snapshot, until refreshed
        heard.refresh()
        assert "Fresh" in set(heard.transcriptions.name)
        expected = "[00:01] Agent: Fresh call.\n[00:04] Customer: Fresh answer.\n"
        assert heard.transcript(job["transcription_id"]) == expected
        assert "local session" in repr(heard) and "transcriptions=6" in repr(heard)
    assert heard.closed and not is_locked(data_dir / "heard.lock")
    with pytest.raises(ValidationError):
        heard.sql("SELECT 1")


def test_while_another_process_holds_the_directory_the_last_snapshot_is_read(data_dir: Path) -> None:
    settings = quiet_settings(data_dir)
    with Engine.open(settings) as owner:
        with pytest.raises(Exception, match="in use"):
            connect(settings=settings)  # no snapshot yet: nothing to fall back on
        owner.exports.parquet()
        with pytest.warns(UserWarning, match="last Parquet snapshot"):
            heard = connect(settings=settings)
        assert heard.mode == "snapshot" and heard.client is None
        assert len(heard.transcriptions) == 5
        with pytest.raises(ValidationError):
            heard.transcription(heard.transcriptions.transcription_id.iloc[0])
        heard.close()


def test_through_a_running_server(data_dir: Path, tmp_path: Path) -> None:
    with live_server(data_dir, tmp_path / "server.log"), connect(data_dir) as heard:
        assert heard.mode == "server"
        assert len(heard.transcriptions) == 5
        job = heard.client.ingest_transcript(NEW_CALL, metadata={"name": "Over HTTP"})
        heard.client.wait_for_job(job["job_id"], timeout=60)
        heard.refresh()  # asks the server for a fresh snapshot
        assert "Over HTTP" in set(heard.transcriptions.name)
        assert heard.transcript(job["transcription_id"], "vtt").startswith("WEBVTT")
        assert heard.manifest["tables"]["transcriptions"]["rows"] == 6
