"""The upload cap holds while bytes arrive: oversize uploads, lying Content-Length headers and
chunked bodies are all refused with 413, and no partial file stays on disk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from heard_local.engine import Engine
from tests.api.conftest import UPLOAD_CAP
from tests.api.support import write_wav

BOUNDARY = "heardboundary"


def multipart_body(audio: bytes, metadata: dict[str, Any] | None = None) -> bytes:
    parts = []
    if metadata is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
                     f"{json.dumps(metadata)}\r\n".encode())
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="audio_file"; filename="a.wav"\r\n'
                 "Content-Type: audio/wav\r\n\r\n".encode() + audio + b"\r\n")
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(parts)


class RawCall:
    """One request straight into the ASGI app, with exactly the headers and body chunks given."""

    def __init__(self, app: FastAPI, headers: dict[str, str], chunks: Iterable[bytes], path: str):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.chunks = list(chunks)
        self.path = path
        self.chunks_read = 0
        self.status: int | None = None
        self.body = b""
        self.response_headers: dict[str, str] = {}

    async def _run(self) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": self.path, "raw_path": self.path.encode(), "query_string": b"",
                 "root_path": "", "headers": self.headers, "client": ("127.0.0.1", 5000),
                 "server": ("127.0.0.1", 8000), "state": {}}

        async def receive() -> dict[str, Any]:
            if self.chunks_read < len(self.chunks):
                chunk = self.chunks[self.chunks_read]
                self.chunks_read += 1
                return {"type": "http.request", "body": chunk, "more_body": self.chunks_read < len(self.chunks)}
            await asyncio.sleep(3600)  # the client would wait here for an answer
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.response_headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                self.body += message.get("body", b"")

        await asyncio.wait_for(self.app(scope, receive, send), timeout=30)

    def run(self) -> RawCall:
        asyncio.run(self._run())
        return self

    def error(self) -> dict[str, Any]:
        return json.loads(self.body)["error"]


def _chunks(data: bytes, size: int = 16 * 1024) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _leftovers(engine: Engine) -> list[Path]:
    return [p for p in engine.settings.media_dir.rglob("*") if p.is_file()]


def test_upload_within_the_cap_is_accepted(app: FastAPI, api_engine: Engine, api_key: str, tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "ok.wav", seconds=1.0).read_bytes()
    body = multipart_body(audio, {"source": "test"})
    call = RawCall(app, {"x-api-key": api_key, "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                         "content-length": str(len(body))}, _chunks(body), "/api/v1/ingest/audio").run()
    assert call.status == 202, call.body
    assert [p.suffix for p in _leftovers(api_engine)] == [".wav"]


def test_oversize_upload_is_cut_off_while_streaming(app: FastAPI, api_engine: Engine, api_key: str,
                                                    tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "big.wav", seconds=2 * UPLOAD_CAP / 32_000).read_bytes()
    body = multipart_body(audio)
    call = RawCall(app, {"x-api-key": api_key, "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                         "content-length": str(len(body))}, _chunks(body), "/api/v1/ingest/audio").run()
    assert call.status == 413 and call.error()["code"] == "FILE_TOO_LARGE"
    assert call.chunks_read < len(_chunks(body))  # refused before the whole body arrived
    assert _leftovers(api_engine) == []
    assert api_engine.transcriptions.list().total == 0


def test_lying_content_length_does_not_bypass_the_cap(app: FastAPI, api_engine: Engine, api_key: str,
                                                      tmp_path: Path) -> None:
    audio = write_wav(tmp_path / "big.wav", seconds=4 * UPLOAD_CAP / 32_000).read_bytes()
    body = multipart_body(audio)
    for declared in ("1000", None):  # a small lie, and no length at all (chunked)
        headers = {"x-api-key": api_key, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
        if declared:
            headers["content-length"] = declared
        call = RawCall(app, headers, _chunks(body), "/api/v1/ingest/audio").run()
        assert call.status == 413, (declared, call.body)
        assert call.error()["code"] == "FILE_TOO_LARGE"
        assert _leftovers(api_engine) == []


def test_declared_oversize_is_refused_before_reading(app: FastAPI, api_engine: Engine, api_key: str) -> None:
    headers = {"x-api-key": api_key, "content-type": f"multipart/form-data; boundary={BOUNDARY}",
               "content-length": str(600 * 1024 * 1024)}
    call = RawCall(app, headers, [b"x" * 1024] * 4, "/api/v1/ingest/audio").run()
    assert call.status == 413 and call.chunks_read == 0
    assert call.response_headers.get("connection") == "close"


def test_json_bodies_are_capped_too(app: FastAPI, api_engine: Engine, api_key: str) -> None:
    text = "Agent: " + "blah " * (api_engine.settings.max_request_body_bytes // 4)
    body = json.dumps({"transcript_text": text}).encode()
    for declared in (str(len(body)), "100", None):
        headers = {"x-api-key": api_key, "content-type": "application/json"}
        if declared:
            headers["content-length"] = declared
        call = RawCall(app, headers, _chunks(body), "/api/v1/ingest/transcript").run()
        assert call.status == 413, (declared, call.body)
        assert call.error()["details"]["field"] == "body"
    assert api_engine.transcriptions.list().total == 0
