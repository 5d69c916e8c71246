"""The API key is checked from the headers alone, before any of the body is read.

FastAPI reads and parses a request's body before it resolves the dependencies that authenticate it, so
anyone who could reach the port could make the server receive and buffer 32 MB (500 MB claiming
multipart) without a key. This middleware answers 401 (or 429) for every API route but ``/health``
as soon as the headers are in, and hands the verified caller to the route (``caller_from_scope``) so it
is not authenticated — nor rate limited — twice.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from heard_local.api.errors import error_response
from heard_local.api.security import Caller, authenticate, known_caller
from heard_local.errors import HeardError

_CALLER = "heard_caller"
_OPEN_ROUTES = ("/health",)


class AuthBeforeBodyMiddleware:
    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...]):
        self.app = app
        self.prefixes = tuple(prefix.rstrip("/") + "/" for prefix in prefixes)

    def _needs_key(self, path: str) -> bool:
        return path.startswith(self.prefixes) and not path.endswith(_OPEN_ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_key(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        key = request.headers.get("x-api-key")
        try:
            caller = known_caller(request, key) or await run_in_threadpool(authenticate, request, key)
        except HeardError as error:
            response = error_response(error)
            if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
                response.headers["Connection"] = "close"  # its body is never read
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_CALLER] = caller
        await self.app(scope, receive, send)


def caller_from_scope(request: Request) -> Caller | None:
    """The caller this middleware verified for ``request`` (None where it did not run)."""
    caller = request.scope.get("state", {}).get(_CALLER)
    return caller if isinstance(caller, Caller) else None
