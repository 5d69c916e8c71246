"""A scripted stand-in for an Ollama server, speaking Ollama's HTTP API on 127.0.0.1.

No Ollama can run where the tests run, so the tests point the real ``ollama`` client (and so
heard-local's adapter, unchanged) at this server instead. It answers

- ``POST /api/chat`` (non-streaming): ``{"model", "created_at", "message": {"role": "assistant",
  "content"}, "done": true, "done_reason": "stop", ...}``; an unknown model gets Ollama's 404
  ``{"error": "model \\"x\\" not found, try pulling it first"}``;
- ``GET /api/tags``, ``POST /api/show``, ``GET /api/version``, ``GET /`` ("Ollama is running").

What ``/api/chat`` answers is scripted per test: :class:`Reply` items are served in order, then the
``responder`` callable (given the request body) if one is set, else an automatic answer built from
the request's ``format`` schema (every nullable value null, texts "Scripted answer."). Every request
is recorded in ``server.requests``.

In a test::

    with OllamaTestServer() as server:
        server.script(Reply.text("not json"), Reply.json({"summary": "Hi"}))
        settings = Settings(ollama_host=server.url, ...)

From another process (e.g. "answer after 30 s" for a crash-recovery test)::

    python -m tests.support.ollama_server --port 0 --delay 30 --port-file /tmp/port [--script replies.json]

prints ``listening on http://127.0.0.1:PORT`` and serves until killed. ``replies.json`` is a JSON list
of Reply fields, e.g. ``[{"content": {"summary": "Hi"}}, {"status": 500, "error": "boom"}]``.
:class:`OllamaServerProcess` does exactly that from a test (``with OllamaServerProcess(delay=30) as s:``
then ``HEARD_OLLAMA_HOST=s.url``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "llama3.2:3b"
AUTO_TEXT = "Scripted answer."


@dataclass
class Reply:
    """One scripted answer to ``POST /api/chat``.

    ``content``: the assistant message (a dict/list is sent as JSON text, a str as is). ``status`` and
    ``error``: an HTTP error with Ollama's ``{"error": msg}`` body instead. ``delay``: seconds to wait
    first (longer than the client's timeout = a timeout). ``drop``: close the connection unanswered.
    ``raw``: this text as the whole body instead of Ollama's JSON (a proxy's HTML page).
    """

    content: Any = None
    status: int = 200
    error: str | None = None
    delay: float = 0.0
    drop: bool = False
    raw: str | None = None

    @classmethod
    def json(cls, value: Any, *, delay: float = 0.0) -> Reply:
        return cls(content=value, delay=delay)

    @classmethod
    def text(cls, text: str, *, delay: float = 0.0) -> Reply:
        return cls(content=text, delay=delay)

    @classmethod
    def http_error(cls, status: int, message: str) -> Reply:
        return cls(status=status, error=message)

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        """Answer (automatically) only after ``seconds``: a timeout for any shorter client timeout."""
        return cls(content=None, delay=seconds)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(**{k: v for k, v in data.items() if k in {"content", "status", "error", "delay", "drop", "raw"}})


def _nullable(schema: dict[str, Any]) -> bool:
    types = schema.get("type")
    return (isinstance(types, list) and "null" in types) or None in schema.get("enum", [0])


def instance_from_schema(schema: dict[str, Any] | None) -> Any:
    """The simplest value valid for ``schema``: nulls where allowed, AUTO_TEXT for texts."""
    if not isinstance(schema, dict):
        return AUTO_TEXT
    if _nullable(schema):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    types = schema.get("type")
    kind = types[0] if isinstance(types, list) else types
    if kind == "object":
        return {name: instance_from_schema(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 0
    if kind == "boolean":
        return False
    return AUTO_TEXT


def chat_response(model: str, content: str) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "load_duration": 1_000,
        "prompt_eval_count": 10,
        "prompt_eval_duration": 1_000,
        "eval_count": 10,
        "eval_duration": 1_000,
    }


def user_text(request: dict[str, Any]) -> str:
    """All user messages of a chat request, joined (what a responder usually inspects)."""
    return "\n".join(m.get("content", "") for m in request.get("messages", []) if m.get("role") == "user")


Responder = Callable[[dict[str, Any]], Any]


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)


class OllamaTestServer:
    def __init__(self, *, models: tuple[str, ...] | list[str] = (DEFAULT_MODEL,), delay: float = 0.0,
                 responder: Responder | None = None, port: int = 0):
        self.models = list(models)
        self.delay = delay  # before every /api/chat answer
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- control --------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OllamaTestServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ollama-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection: a stopped server must look like a dead Ollama,
        also to a client holding a keep-alive connection."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OllamaTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending_replies(self) -> int:
        return len(self._replies)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path == "/api/chat"]

    # --- answering ------------------------------------------------------------------------------------

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        if self.responder is not None:
            answer = self.responder(body)
            return answer if isinstance(answer, Reply) else Reply(content=answer)
        return Reply(content=None)

    def _handle_chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        model = body.get("model", "")
        if model not in self.models:
            return 404, {"error": f'model "{model}" not found, try pulling it first'}
        reply = self._next_reply(body)
        if self._stopping.wait(self.delay + reply.delay):
            return 503, {"error": "server shutting down"}
        if reply.drop:
            return 0, None
        if reply.raw is not None:
            return reply.status, reply.raw
        if reply.error is not None or reply.status != 200:
            return reply.status, {"error": reply.error or "error"}
        content = reply.content
        if content is None:
            content = instance_from_schema(body.get("format"))
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return 200, chat_response(model, text)

    def _model_entry(self, name: str) -> dict[str, Any]:
        return {
            "name": name, "model": name, "modified_at": "2025-01-01T00:00:00Z", "size": 2_019_393_189,
            "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                        "parameter_size": "3.2B", "quantization_level": "Q4_K_M"},
        }

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST" and path == "/api/chat":
            return self._handle_chat(body)
        if method == "GET" and path == "/api/tags":
            return 200, {"models": [self._model_entry(m) for m in self.models]}
        if method == "POST" and path == "/api/show":
            name = body.get("model") or body.get("name") or ""
            if name not in self.models:
                return 404, {"error": f"model '{name}' not found"}
            return 200, {"modelfile": "", "parameters": "", "template": "{{ .Prompt }}",
                         "details": self._model_entry(name)["details"],
                         "model_info": {"llama.context_length": 131072}, "capabilities": ["completion"]}
        if method == "GET" and path == "/api/version":
            return 200, {"version": "0.12.0"}
        if method in ("GET", "HEAD") and path == "/":
            return 200, "Ollama is running"
        return 404, {"error": "not found"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server._connections.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = {"_invalid": raw.decode("utf-8", "replace")}
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.requests.append(RecordedRequest(method, path, body))
                status, payload = server._route(method, path, body)
                if status == 0:  # drop the connection without an answer
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                content_type = "text/plain; charset=utf-8" if isinstance(payload, str) else "application/json"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if method != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout); nothing to answer to

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_HEAD(self) -> None:
                self._serve("HEAD")

        return Handler


class OllamaServerProcess:
    """The same server in a child process, for tests whose heard-local runs in another process or is
    killed mid-request (crash recovery)::

        with OllamaServerProcess(delay=30, replies=[{"content": {"summary": "Hi"}}]) as server:
            env["HEARD_OLLAMA_HOST"] = server.url
    """

    def __init__(self, *, delay: float = 0.0, replies: list[dict[str, Any]] | None = None,
                 models: list[str] | None = None, workdir: Path | None = None):
        self._workdir = Path(tempfile.mkdtemp(prefix="ollama-double-")) if workdir is None else workdir
        self._port_file = self._workdir / "port"
        self._port_file.unlink(missing_ok=True)
        args = [sys.executable, "-m", "tests.support.ollama_server", "--port", "0", "--delay", str(delay),
                "--port-file", str(self._port_file)]
        for model in models or []:
            args += ["--model", model]
        if replies:
            script = self._workdir / "replies.json"
            script.write_text(json.dumps(replies))
            args += ["--script", str(script)]
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(args, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = 0

    def wait_ready(self, timeout: float = 30) -> OllamaServerProcess:
        deadline = time.monotonic() + timeout
        while not self._port_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the Ollama test server exited: {self.process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise TimeoutError("the Ollama test server did not start")
            time.sleep(0.02)
        self.port = int(self._port_file.read_text())
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> OllamaServerProcess:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.ollama_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=11434, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before every chat answer")
    parser.add_argument("--model", action="append", help=f"models it has (repeatable; default {DEFAULT_MODEL})")
    parser.add_argument("--script", type=Path, help="JSON list of replies served in order before automatic ones")
    parser.add_argument("--port-file", type=Path, help="write the port here once listening")
    args = parser.parse_args(argv)
    server = OllamaTestServer(models=args.model or [DEFAULT_MODEL], delay=args.delay, port=args.port)
    if args.script:
        server.script(*(Reply.from_dict(item) for item in json.loads(args.script.read_text())))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    if args.port_file:  # written whole, then renamed: a reader never sees a partial number
        partial = args.port_file.with_name(args.port_file.name + ".partial")
        partial.write_text(str(server.port))
        partial.replace(args.port_file)
    print(f"listening on {server.url}", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
