"""What the web UI serves, asked of a real ``heard-local serve`` over HTTP.

Only a transcription's own recording is ever served (by transcription id, through the UI's media
route); Gradio's file routes refuse the DuckDB file, ``server.json`` (the admin token), the media store
and every traversal spelling; requests from other web origins and DNS-rebinding host names are refused.
"""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.ui.harness import UiServer, api_client, wait_for_job

REFUSED = {400, 403, 404, 405}


def tone_wav(path: Path, seconds: float = 2.0, rate: int = 16_000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                                 for i in range(int(seconds * rate))))
    return path


@pytest.fixture(scope="module")
def recorded(ui_server: UiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The id of a completed transcription with a stored recording."""
    audio = tone_wav(tmp_path_factory.mktemp("tone") / "tone.wav")
    with api_client(ui_server) as api, audio.open("rb") as handle:
        answer = api.post("/ingest/audio", files={"audio_file": ("tone.wav", handle, "audio/wav")},
                          data={"metadata": '{"name": "Tone"}'})
        answer.raise_for_status()
        assert wait_for_job(api, answer.json()["job_id"])["status"] == "completed"
    yield str(answer.json()["transcription_id"])


_SESSIONS: dict[str, dict[str, str]] = {}


def get(server: UiServer, path: str, *, signed_in: bool = True, **kwargs: object) -> httpx.Response:
    """GET ``path`` as a signed-in browser would (``signed_in=False``: without the session cookie)."""
    # A raw path: httpx must not normalise "../" away before the server sees it.
    url = httpx.URL(server.url).copy_with(raw_path=path.encode())
    cookies = _SESSIONS.setdefault(server.url, server.session_cookies()) if signed_in else {}
    with httpx.Client(cookies=cookies, timeout=15) as client:
        return client.get(url, **kwargs)  # type: ignore[arg-type]


def assert_refused(response: httpx.Response, secret: bytes) -> None:
    assert response.status_code in REFUSED, (response.request.url, response.status_code)
    assert secret not in response.content


def test_gradio_file_routes_refuse_the_database_settings_and_media(ui_server: UiServer, recorded: str) -> None:
    data_dir = ui_server.data_dir.resolve()
    database = data_dir / "heard.duckdb"
    server_json = data_dir / "server.json"
    media = next((data_dir / "media").rglob("*.wav"))
    admin_token = server_json.read_text().split('"admin_token": "')[1].split('"')[0].encode()
    assert database.exists() and media.exists()

    for target in (database, server_json, media):
        secret = admin_token if target == server_json else target.read_bytes()[:64]
        absolute = str(target)
        relative_to_cwd = str(target.relative_to(ui_server.root))  # the server runs in ui_server.root
        for path in (
            f"/gradio_api/file={absolute}",
            f"/gradio_api/file={quote(absolute)}",
            f"/gradio_api/file/{absolute}",
            f"/file={absolute}",
            f"/gradio_api/file={relative_to_cwd}",
            f"/gradio_api/file=../{ui_server.root.name}/{relative_to_cwd}",
            f"/gradio_api/file=/tmp/../{absolute.lstrip('/')}",
            f"/gradio_api/file=%2E%2E/{ui_server.root.name}/{relative_to_cwd}",
            f"/gradio_api/file=..%2F{ui_server.root.name}%2F{quote(relative_to_cwd, safe='')}",
            f"/ui/media/..%2F..%2F{database.name}",
        ):
            assert_refused(get(ui_server, path), secret)


def test_the_file_route_still_serves_what_gradio_itself_received(ui_server: UiServer) -> None:
    """The refusals above are specific: an upload the UI received is served back, from a directory
    only this user can read (not the shared /tmp/gradio)."""
    uploaded = httpx.post(ui_server.url + "/gradio_api/upload", files={"files": ("note.txt", b"hello")}, timeout=15,
                          cookies=ui_server.session_cookies())
    assert uploaded.status_code == 200
    path = Path(uploaded.json()[0])
    assert get(ui_server, f"/gradio_api/file={path}").content == b"hello"
    private = next(parent for parent in path.parents if parent.name.startswith("heard-local-ui-"))
    assert private.stat().st_mode & 0o777 == 0o700


def test_a_transcriptions_recording_is_served_by_id_only(ui_server: UiServer, recorded: str) -> None:
    stored = next((ui_server.data_dir / "media").rglob("*.wav")).read_bytes()
    response = get(ui_server, f"/ui/media/{recorded}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content == stored
    ranged = get(ui_server, f"/ui/media/{recorded}", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and ranged.content == stored[:100]  # seeking needs ranges
    assert get(ui_server, "/ui/media/not-a-transcription").status_code == 404

    export = get(ui_server, f"/ui/export/{recorded}.json")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert export.json()["transcription_id"] == recorded
    assert get(ui_server, f"/ui/export/{recorded}.exe").status_code == 404


def test_other_origins_and_rebound_host_names_are_refused(ui_server: UiServer) -> None:
    assert get(ui_server, "/").status_code == 200
    rebound = get(ui_server, "/", headers={"Host": f"attacker.example:{ui_server.port}"})
    assert rebound.status_code == 403
    assert get(ui_server, "/config", headers={"Host": "attacker.example"}).status_code == 403
    signed_in = ui_server.session_cookies()  # refused for where they come from, signed in or not
    cross_site = httpx.post(ui_server.url + "/gradio_api/queue/join", timeout=15, cookies=signed_in,
                            headers={"Origin": "https://attacker.example"}, json={"fn_index": 0, "data": []})
    assert cross_site.status_code == 403
    sandboxed = httpx.post(ui_server.url + "/gradio_api/upload", timeout=15, headers={"Origin": "null"},
                           cookies=signed_in, files={"files": ("x.txt", b"x")})
    assert sandboxed.status_code == 403
    # Gradio could fetch URLs on a browser's behalf; the UI never needs that.
    assert get(ui_server, "/gradio_api/file=http://127.0.0.1:9/x").status_code == 403
    assert get(ui_server, "/gradio_api/proxy=http://127.0.0.1:9/x").status_code == 403
    # The API authenticates by key and keeps answering programs that send their own Host header.
    assert get(ui_server, "/api/v1/health", headers={"Host": "heard.internal"}).status_code == 200


def test_served_on_loopback_only_by_default() -> None:
    from heard_local.config import Settings

    assert Settings(_env_file=None).host == "127.0.0.1"  # type: ignore[call-arg]
