"""Signing in to the web UI (Jupyter's way): the token ``serve`` prints becomes an HttpOnly, SameSite=Strict
session cookie, and every UI route, enumerated from the mounted app itself, refuses a request without it:
pages, assets, Gradio's API and queue (``/gradio_api/queue/join``), files, recordings and downloads.
The HTTP API keeps its own key check, unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount, WebSocketRoute

from heard_local.config import Settings
from heard_local.engine import Engine
from heard_local.runtime import ServerInfo
from heard_local.server import _sign_in_problem, build_app
from heard_local.ui.auth import UiSignIn, cookie_name
from heard_local.ui.security import API_PREFIXES
from tests.support.processes import free_port, run_cli

BASE = "http://127.0.0.1:8000"
REFUSAL_MARK = "sign in to the web UI"


@dataclass
class Mounted:
    app: Any
    info: ServerInfo
    transcription_id: str


@pytest.fixture(scope="module")
def mounted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mounted]:
    root = tmp_path_factory.mktemp("sign-in")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(root / "gradio"))
        settings = Settings(data_dir=root / "data", watch_dir=root / "watch", diarization_model=None, diarizer="off",
                            ollama_host="http://127.0.0.1:9", ollama_timeout_seconds=2.0)
        engine = Engine.open(settings)
        try:
            submission = engine.ingest.transcript({"transcript_text": "Agent: Hello.\nCustomer: My PIN is 4821."})
            engine.jobs.wait(submission.job.job_id, timeout=30)
            info = ServerInfo.new(BASE, "test")
            yield Mounted(build_app(engine, info, ui=True), info, submission.job.transcription_id)
        finally:
            engine.close()


def ui_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path template) of every route the app serves outside the HTTP API, walking mounts and
    included routers."""
    for route in routes:
        if isinstance(route, Mount):
            yield from ui_routes(list(route.routes), prefix + route.path)
        elif hasattr(route, "original_router"):  # FastAPI's include_router()
            yield from ui_routes(list(route.original_router.routes), prefix + route.include_context.prefix)
        elif isinstance(route, WebSocketRoute):
            yield "WEBSOCKET", prefix + route.path
        else:
            path = prefix + route.path
            if not path.startswith(API_PREFIXES):
                for method in sorted(route.methods or ()):
                    yield method, path


def concrete(template: str, transcription_id: str) -> str:
    values = {"transcription_id": transcription_id, "fmt": "txt", "ext": "ts", "size": "192"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), template)


def test_every_ui_route_refuses_a_request_without_the_session_cookie(mounted: Mounted) -> None:
    routes = sorted(set(ui_routes(mounted.app.routes)))
    templates = {path for _, path in routes}
    # The enumeration really found the UI (not an empty list after a framework change).
    assert len(routes) > 60
    for expected in ("/", "/config", "/gradio_api/queue/join", "/gradio_api/upload", "/gradio_api/queue/data",
                     "/gradio_api/file={path_or_url:path}", "/ui/media/{transcription_id}",
                     "/ui/export/{transcription_id}.{fmt}", "/assets/{path:path}"):
        assert expected in templates, expected

    with TestClient(mounted.app, base_url=BASE) as anonymous:
        for method, template in routes:
            path = concrete(template, mounted.transcription_id)
            if method == "WEBSOCKET":
                with pytest.raises(Exception), anonymous.websocket_connect(path):  # noqa: B017 - closed at once
                    pass
                continue
            answer = anonymous.request(method, path)
            assert answer.status_code in (401, 403), (method, path, answer.status_code)
            assert "4821" not in answer.text and "set-cookie" not in answer.headers
            if answer.status_code == 401 and method != "HEAD":
                assert REFUSAL_MARK in answer.text and "heard-local url" in answer.text
        # The API is not the UI: it answers by its own key check, as before.
        assert anonymous.get("/api/v1/health").status_code == 200
        refused = anonymous.get("/api/v1/transcriptions")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "AUTH_ERROR"


def test_signing_in_opens_the_same_routes(mounted: Mounted, tmp_path: Path) -> None:
    """The refusals above come from the missing cookie: with it, the same requests are served."""
    with TestClient(mounted.app, base_url=BASE) as browser:
        signed_in = browser.get(f"/?token={mounted.info.ui_token}")
        assert signed_in.status_code == 200
        uploaded = browser.post("/gradio_api/upload", files={"files": ("note.txt", b"hello")})
        assert uploaded.status_code == 200
        served = {
            "/": 200, "/config": 200, f"/ui/export/{mounted.transcription_id}.txt": 200,
            f"/gradio_api/file={uploaded.json()[0]}": 200,
            f"/ui/media/{mounted.transcription_id}": 404,  # reached: a transcript has no recording
        }
        for path, status in served.items():
            answer = browser.get(path)
            assert answer.status_code == status, (path, answer.status_code)
            assert REFUSAL_MARK not in answer.text
        assert "My PIN is 4821" in browser.get(f"/ui/export/{mounted.transcription_id}.txt").text
        joined = browser.post("/gradio_api/queue/join", json={"fn_index": 0, "data": [], "session_hash": "s"})
        assert joined.status_code != 401 and REFUSAL_MARK not in joined.text
        anonymous_file = TestClient(mounted.app, base_url=BASE).get(f"/gradio_api/file={uploaded.json()[0]}")
        assert anonymous_file.status_code == 401 and b"hello" not in anonymous_file.content


def test_the_token_becomes_a_strict_http_only_cookie_and_leaves_the_address(mounted: Mounted) -> None:
    with TestClient(mounted.app, base_url=BASE) as browser:
        answer = browser.get(f"/?t=abc&token={mounted.info.ui_token}", follow_redirects=False)
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(cookie_name(8000) + "=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
        assert mounted.info.ui_token not in cookie  # the cookie is not the token
        assert 'content="0;url=/?t=abc"' in answer.text  # on to the same page, without the token
        assert answer.headers["referrer-policy"] == "no-referrer" and answer.headers["cache-control"] == "no-store"
        assert browser.get("/config").status_code == 200

    with TestClient(mounted.app, base_url=BASE) as stranger:
        wrong = stranger.get("/?token=not-the-token")
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert "not the current one" in wrong.text
        stranger.cookies.set(cookie_name(8000), "forged.0123abcd")
        assert stranger.get("/config").status_code == 401
        # A session of another server (or of an earlier start, with another token).
        elsewhere = UiSignIn(mounted.app, token=ServerInfo.new(BASE, "test").ui_token, port=8000)
        stranger.cookies.set(cookie_name(8000), elsewhere.session_value())
        assert stranger.get("/config").status_code == 401
        # The page it goes on to is always on this server.
        sneaky = stranger.get(f"//attacker.example/?token={mounted.info.ui_token}", follow_redirects=False)
        assert 'url=//' not in sneaky.text


def test_serve_refuses_an_open_ui_beyond_loopback(tmp_path: Path) -> None:
    refused = run_cli(["serve", "--host", "0.0.0.0", "--port", str(free_port()), "--no-watch"], tmp_path / "data",
                      timeout=60, HEARD_UI_AUTH="0")
    assert refused.returncode == 2
    assert "--insecure-no-auth" in refused.stderr and "0.0.0.0" in refused.stderr
    assert not (tmp_path / "data" / "server.json").exists()
    beyond = Settings(_env_file=None, host="0.0.0.0", ui_auth=False)  # type: ignore[call-arg]
    assert _sign_in_problem(beyond, ui=True, insecure_no_auth=True) is None  # asked for explicitly
    assert _sign_in_problem(beyond, ui=False, insecure_no_auth=False) is None  # no UI: API keys only
    loopback = Settings(_env_file=None, ui_auth=False)  # type: ignore[call-arg]
    assert _sign_in_problem(loopback, ui=True, insecure_no_auth=False) is None


def test_serve_beyond_loopback_signs_in_and_warns_about_tls(tmp_path: Path) -> None:
    import httpx

    from tests.support.processes import ServerProcess

    server = ServerProcess(tmp_path / "data", args=("--host", "0.0.0.0", "--no-watch"))
    try:
        server.wait_ready(timeout=120)
        token = json.loads((tmp_path / "data" / "server.json").read_text())["ui_token"]
        log = server.log()
        assert f"http://0.0.0.0:{server.port}/?token={token}" in log
        assert "plain HTTP" in log and "TLS" in log
        printed = run_cli(["url"], tmp_path / "data", timeout=60)
        assert printed.returncode == 0 and printed.stdout.strip() == f"http://0.0.0.0:{server.port}/?token={token}"
        assert httpx.get(f"{server.url}/", timeout=15).status_code == 401
        with httpx.Client(timeout=15) as browser:
            assert browser.get(f"{server.url}/?token={token}").status_code == 200
            assert browser.get(f"{server.url}/config").status_code == 200
    finally:
        server.stop()
