"""What the web UI may serve, and to whom.

- Gradio's file routes (``/gradio_api/file=…``) never serve anything under the data directory (the
  DuckDB file, ``server.json`` with the admin token, media, exports) or the watch folders:
  ``blocked_paths`` covers them, and Gradio takes blocked over allowed. ``allowed_paths`` stays empty;
  Gradio then serves only the files it created itself (uploads in a private temporary directory).
- Recordings are served by :mod:`heard_local.ui.routes` by transcription id, never by path.
- :class:`LocalOriginGuard` answers only to the addresses the server is bound to: with the default
  loopback bind, a request whose ``Host`` is not a loopback name (DNS rebinding) and a state-changing
  request from another web origin (a page on the internet posting to ``http://127.0.0.1:8000``) are
  refused. Gradio's remote-fetch routes (``file=http…``, ``proxy=``) are refused too: the UI never needs
  the network.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from heard_local.config import Settings
from heard_local.runtime import is_loopback_host

# Paths of the API (authenticated by API keys) that this guard leaves alone.
API_PREFIXES = ("/api/", "/v1/", "/docs", "/redoc", "/openapi.json")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def blocked_paths(settings: Settings) -> list[str]:
    """Everything Gradio's file route must refuse, as absolute paths (resolved and as given)."""
    paths: set[str] = set()
    for path in (settings.data_dir, settings.watch_dir):
        paths.add(str(Path(path).absolute()))
        paths.add(str(Path(path).resolve()))
    return sorted(paths)


def private_upload_dir() -> Path:
    """A temporary directory only this user can read, for Gradio's uploads (not the shared /tmp/gradio).

    It lies outside the data directory so that the whole data directory can be blocked. Uploaded
    recordings are moved out of it into the data directory's media store when submitted.
    """
    root = Path(tempfile.gettempdir())
    directory = Path(tempfile.mkdtemp(prefix="heard-local-ui-", dir=root))
    if os.name == "posix":
        directory.chmod(0o700)
    return directory


def host_name(value: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:8000`` -> ``[::1]``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_remote_fetch(path: str) -> bool:
    """Gradio routes that would make this server fetch from the network on a browser's behalf."""
    decoded = unquote(path).lower()
    return "/proxy=" in decoded or "/file=http:" in decoded or "/file=https:" in decoded or \
        "/file/http:" in decoded or "/file/https:" in decoded


class LocalOriginGuard:
    """ASGI middleware for the UI's routes (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, bind_host: str):
        self.app = app
        self.loopback_only = is_loopback_host(bind_host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        problem = self.problem(scope)
        if problem is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await PlainTextResponse(problem, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def problem(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = host_name(headers.get("host", ""))
        if self.loopback_only and host and not is_loopback_host(host):
            return "heard-local's web UI only answers on this computer (http://127.0.0.1)."
        if is_remote_fetch(scope.get("path", "")):
            return "The web UI does not fetch files from the network."
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if method not in SAFE_METHODS and origin and origin != "null":
            origin_host = urlsplit(origin).netloc.lower()
            if origin_host != headers.get("host", "").lower():
                return "Cross-site request refused."
        if method not in SAFE_METHODS and origin == "null":
            return "Cross-site request refused."
        return None
