"""The UI mounted on the API's app in this process: the API keeps its paths, Gradio's analytics are off,
and the page's configuration carries no conversation data (data only flows through events)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from heard_local.engine import Engine
from heard_local.runtime import ServerInfo
from heard_local.server import build_app


@pytest.fixture
def client(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # leave the process-wide default alone
    info = ServerInfo.new("http://127.0.0.1:8000", "test")
    app = build_app(engine, info, ui=True)
    with TestClient(app, base_url="http://127.0.0.1:8000") as test_client:
        assert test_client.get(f"/?token={info.ui_token}").status_code == 200  # signed in, as a browser is
        yield test_client


def test_ui_at_root_and_api_untouched(client: TestClient, engine: Engine) -> None:
    secret_phrase = "the vault code is seven seven four"
    submission = engine.ingest.transcript({"transcript_text": f"Agent: Hello.\nCustomer: {secret_phrase}."})
    engine.jobs.wait(submission.job.job_id, timeout=30)

    page = client.get("/")
    assert page.status_code == 200 and "heard-local" in page.text and "gradio" in page.text.lower()
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/v1/health").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/api/v1/transcriptions").status_code == 401  # the API still wants a key
    config = client.get("/config")
    assert config.status_code == 200
    assert secret_phrase not in config.text
    assert '"analytics_enabled":false' in config.text.replace(" ", "")


def test_media_route_knows_only_transcriptions(client: TestClient, engine: Engine) -> None:
    submission = engine.ingest.transcript({"transcript_text": "Agent: Hello.\nCustomer: Hi."})
    engine.jobs.wait(submission.job.job_id, timeout=30)
    # A transcript has no recording; unknown ids and paths get the same answer.
    assert client.get(f"/ui/media/{submission.job.transcription_id}").status_code == 404
    assert client.get("/ui/media/heard.duckdb").status_code == 404
    export = client.get(f"/ui/export/{submission.job.transcription_id}.txt")
    assert export.status_code == 200
    assert export.text == "Agent: Hello.\nCustomer: Hi.\n"
