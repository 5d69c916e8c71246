"""Helpers for the API tests: a real uvicorn server in a thread, a scriptable HTTP server (audio
files for audio_url, webhook receivers), and small valid audio files."""

from __future__ import annotations

import math
import socket
import struct
import threading
import time
import wave
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn


def write_wav(path: Path, seconds: float = 0.5, *, frequency: float = 440.0, rate: int = 16_000) -> Path:
    """A short mono 16-bit sine tone: a valid WAV file, different for each frequency."""
    frames = int(seconds * rate)
    samples = (int(12_000 * math.sin(2 * math.pi * frequency * i / rate)) for i in range(frames))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveServer:
    """An ASGI app served by uvicorn on an ephemeral loopback port, in a background thread."""

    def __init__(self, app: Any):
        self.app = app
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@dataclass
class Reply:
    status: int = 200
    body: bytes | Callable[[], Iterable[bytes]] = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    hold: threading.Event | None = None  # answer only once this is set


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class ScriptedServer:
    """A threaded HTTP/1.0 server on 127.0.0.1 answering each path with scripted replies (in order; the
    last one repeats) and recording every request."""

    def __init__(self, routes: dict[str, list[Reply] | Reply] | None = None):
        self.routes: dict[str, list[Reply]] = {}
        for path, replies in (routes or {}).items():
            self.route(path, replies)
        self.requests: list[Recorded] = []
        self.arrived = threading.Condition()
        handler = self._handler_class()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def route(self, path: str, replies: list[Reply] | Reply) -> None:
        self.routes[path] = list(replies) if isinstance(replies, list) else [replies]

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for replies in self.routes.values():
            for reply in replies:
                if reply.hold is not None:
                    reply.hold.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 20.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests_to(path)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{path}: {len(self.requests_to(path))} request(s), expected {count}")
                self.arrived.wait(left)
        return self.requests_to(path)

    def _next_reply(self, path: str) -> Reply:
        replies = self.routes.get(path)
        if not replies:
            return Reply(status=404, body=b"not found")
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server.arrived:
                    server.requests.append(Recorded(self.command, path, headers, body))
                    server.arrived.notify_all()
                reply = server._next_reply(path)
                if reply.hold is not None:
                    reply.hold.wait(30)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if isinstance(reply.body, bytes):
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    chunks: Iterator[bytes] | Iterable[bytes] = (
                        [reply.body] if isinstance(reply.body, bytes) else reply.body())
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _serve
            do_POST = _serve

        return Handler


@dataclass
class Connection:
    opened: float  # time.monotonic()
    request_head: bytes = b""
    closed: float | None = None

    def header(self, name: str) -> str | None:
        for line in self.request_head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


class DribblingServer:
    """A server as slow as a server can be without ever timing out a read: after the request it sends a
    status line, then one byte of a never-ending header every ``interval`` seconds, until the client
    hangs up (noticed at once: the socket turns readable with nothing to read) or the server stops.
    Every connection is recorded with its request head and the times it opened and closed."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DribblingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._listener.close()

    def open_connections(self) -> list[Connection]:
        with self._lock:
            return [c for c in self.connections if c.closed is None]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            record = Connection(opened=time.monotonic())
            with self._lock:
                self.connections.append(record)
            threading.Thread(target=self._dribble, args=(conn, record), daemon=True).start()

    def _dribble(self, conn: socket.socket, record: Connection) -> None:
        import select

        try:
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            record.request_head = head.split(b"\r\n\r\n", 1)[0]
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not self._stop.is_set():
                readable, _, _ = select.select([conn], [], [], self.interval)
                if readable and not conn.recv(4096):
                    return  # the client hung up
                conn.sendall(b"a")
        except OSError:
            return
        finally:
            record.closed = time.monotonic()
            conn.close()


def finishes_within(seconds: float, work: Callable[[], Any]) -> tuple[Any, BaseException | None, float]:
    """Run ``work`` in a thread; (its result, the exception it raised, seconds taken), or an AssertionError
    when it is still running after ``seconds`` (the thread is left to end by itself)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"still running after {seconds:g} s")
    return outcome.get("result"), outcome.get("error"), time.monotonic() - started
