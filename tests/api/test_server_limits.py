"""What a client can hold against a real ``heard-local serve`` (issue 15, items 1 and 5-7): the
server keeps answering while it parses hostile transcripts, refuses hostile bodies within their first
kilobyte, and drops connections that send their headers or body too slowly, serving others meanwhile.
Raw sockets, so that exactly what reaches the server is known."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from heard_local.domain.metadata import MAX_TRANSCRIPT_CHARS
from tests.support.processes import ServerProcess

TIMEOUT = 1.5  # header and upload-idle timeout of the server under test


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("limits") / "data"
    process = ServerProcess(data_dir, HEARD_HEADER_TIMEOUT_SECONDS=str(TIMEOUT),
                            HEARD_UPLOAD_IDLE_TIMEOUT_SECONDS=str(TIMEOUT), HEARD_RATE_LIMIT_PER_SECOND="0")
    yield process.wait_ready()
    process.stop()


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket, within: float) -> tuple[int, dict[str, object]]:
    """The status and JSON error the server answered within ``within`` seconds."""
    sock.settimeout(within)
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _content_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, "no answer"
    return int(head.split()[1]), json.loads(body) if body else {}


def _content_length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed ``sock`` (fails after ``seconds``)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def _health_seconds(server: ServerProcess, client: httpx.Client | None = None) -> float:
    started = time.monotonic()
    response = (client or httpx).get(f"{server.url}/api/v1/health", timeout=30)  # type: ignore[attr-defined]
    assert response.status_code == 200
    return time.monotonic() - started


def _api_key(server: ServerProcess) -> str:
    return str(server.api("POST", "/keys", json={"name": f"k{time.monotonic_ns()}"}).json()["key"])


# --- item 1: parsing never freezes the process --------------------------------------------------------------

def test_health_answers_within_a_second_while_hostile_transcripts_are_parsed(server: ServerProcess) -> None:
    n = MAX_TRANSCRIPT_CHARS
    texts = ["a" + " " * (n - 2) + "b", "\n" * (n - 1) + "x", "Agent" + " " * (n - 14) + "(0:00) x"]
    jobs = []
    for text in texts:
        response = server.api("POST", "/ingest/transcript", json={"transcript_text": text})
        assert response.status_code == 202, response.text
        jobs.append(response.json()["job_id"])
    deadline = time.monotonic() + 90
    client = httpx.Client()  # one connection: the time measured is the server's
    while True:
        assert _health_seconds(server, client) < 1.0  # before: the first of these held the GIL for hours
        statuses = {server.api("GET", f"/ingest/jobs/{job}").json()["status"] for job in jobs}
        if statuses == {"completed"}:
            client.close()
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)


# --- item 5: multipart part headers -----------------------------------------------------------------------------

def test_a_50_mb_part_header_is_refused_at_once(server: ServerProcess) -> None:
    header = b'Content-Disposition: form-data; name="metadata"; x="' + b"a" * 50_000_000 + b'"\r\n\r\n{}\r\n'
    body_start = b"--b\r\n" + header[:1024 * 1024]
    sock = _connect(server)
    sock.sendall(_request_head("/api/v1/ingest/audio", {
        "X-API-Key": _api_key(server), "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": str(len(header) + 12)}))
    started = time.monotonic()
    try:
        for offset in range(0, len(body_start), 64 * 1024):
            sock.sendall(body_start[offset:offset + 64 * 1024])
    except (BrokenPipeError, ConnectionResetError):
        pass  # answered and closed before all of it was sent
    status, error = _answer(sock, within=10)
    assert time.monotonic() - started < 5
    assert status == 400 and "header" in str(error["error"]["message"])  # type: ignore[index]
    sock.close()
    assert _health_seconds(server) < 3.0


# --- item 6: authentication and caps before the body ----------------------------------------------------------

@pytest.mark.parametrize(("case", "content_type", "declared", "with_key", "expected"), [
    ("no key, a 10 MB transcript", "application/json", 10 * 1024 * 1024, False, 401),
    ("no key, a 400 MB upload", "multipart/form-data; boundary=b", 400 * 1024 * 1024, False, 401),
    ("a 20 MB transcript", "application/json", 20 * 1024 * 1024, True, 413),
    ("a transcript claiming multipart, 400 MB", "multipart/form-data; boundary=b", 400 * 1024 * 1024, True, 413),
])
def test_refusals_come_within_the_first_kilobyte(server: ServerProcess, case: str, content_type: str,
                                                 declared: int, with_key: bool, expected: int) -> None:
    path = "/api/v1/ingest/audio" if "upload" in case else "/api/v1/ingest/transcript"
    headers = {"Content-Type": content_type, "Content-Length": str(declared)}
    if with_key:
        headers["X-API-Key"] = _api_key(server)
    sock = _connect(server)
    sock.sendall(_request_head(path, headers) + b"x" * 1024)  # and nothing more until answered
    status, error = _answer(sock, within=5)
    assert status == expected, (case, error)
    assert error["error"]["code"] == {401: "AUTH_ERROR", 413: "FILE_TOO_LARGE"}[expected]  # type: ignore[index]
    sock.close()


# --- item 7: slow senders ------------------------------------------------------------------------------------------

def test_a_slowloris_connection_is_dropped_while_others_are_served(server: ServerProcess) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /api/v1/ingest/transcript HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    dropped = False
    while time.monotonic() - started < 15:
        try:
            sock.sendall(b"X-Slow: 1\r\n")  # a header line now and then, never the blank line
        except OSError:
            dropped = True
            break
        assert _health_seconds(server) < 3.0  # everyone else is served meanwhile
        sock.settimeout(0.3)
        try:
            if sock.recv(1024) == b"":
                dropped = True
                break
        except TimeoutError:
            pass
        except ConnectionResetError:
            dropped = True
            break
    assert dropped, "the server kept a connection whose headers never finished"
    assert time.monotonic() - started < TIMEOUT + 5
    sock.close()


def test_an_upload_that_stops_sending_is_dropped(server: ServerProcess, tmp_path: Path) -> None:
    sock = _connect(server)
    sock.sendall(_request_head("/api/v1/ingest/audio", {
        "X-API-Key": _api_key(server), "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": "1000000"}) + b'--b\r\nContent-Disposition: form-data; name="audio_file"; '
                                       b'filename="a.wav"\r\n\r\nRIFF')
    started = time.monotonic()
    status, error = _answer(sock, within=TIMEOUT + 10)
    assert status == 400 and "stopped arriving" in str(error["error"]["message"])  # type: ignore[index]
    assert time.monotonic() - started < TIMEOUT + 5
    assert _closed_within(sock, 5) < 5
    assert not list((server.data_dir / "media").glob("upload-*"))  # the partial upload is gone


def test_connections_beyond_the_limit_are_closed_at_once(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", HEARD_MAX_CONNECTIONS="4", HEARD_HEADER_TIMEOUT_SECONDS="2").wait_ready()
    try:
        with ThreadPoolExecutor(8) as pool:
            idle = [_connect(server) for _ in range(8)]  # open, and never send a byte
            closed_after = list(pool.map(lambda s: _closed_within(s, 15), idle))
        assert sum(1 for seconds in closed_after if seconds < 1.0) >= 4  # beyond the limit: at once
        assert max(closed_after) < 10  # the others once their header deadline passed
        assert _health_seconds(server) < 3.0  # and the server serves again
    finally:
        server.stop()
