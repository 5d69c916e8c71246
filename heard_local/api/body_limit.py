"""Request bodies are capped by route while they arrive, whatever Content-Length claims, and a body that
stops arriving is dropped.

``/ingest/audio`` as multipart gets ``max_upload_bytes`` plus room for the other form fields (the
upload route enforces the exact cap on the audio file itself); ``/ingest/transcript`` gets
``max_transcript_request_bytes`` whatever its Content-Type says (claiming multipart there once allowed
500 MB); every other API body ``max_request_body_bytes``. A declared length over the cap is refused
before reading; a body that grows past it is cut off; both are answered 413 FILE_TOO_LARGE. A body that
sends nothing for ``idle_seconds`` is answered 400 and its connection closed (a slow sender cannot hold
a connection and a partial upload forever).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heard_local.api.errors import error_response
from heard_local.api.uploads import human_size
from heard_local.errors import FileTooLargeError, HeardError, ValidationError

# Room for the metadata and configuration_id parts and the multipart framing.
MULTIPART_OVERHEAD = 1024 * 1024
_UPLOAD_ROUTE = "/ingest/audio"
_TRANSCRIPT_ROUTE = "/ingest/transcript"


class BodyTooLarge(Exception):
    """Raised into the application by ``receive`` once the cap is passed."""


class BodyStalled(Exception):
    """Raised into the application by ``receive`` when the client sends nothing for too long."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int, transcript_limit: int | None = None,
                 idle_seconds: float | None = None, api_prefixes: tuple[str, ...] = ("/api/v1/", "/v1/")):
        self.app = app
        self.api_prefixes = api_prefixes
        self.json_limit = json_limit
        self.upload_limit = upload_limit
        self.transcript_limit = transcript_limit if transcript_limit is not None else json_limit
        self.idle_seconds = idle_seconds

    def limit_for(self, path: str, multipart: bool) -> tuple[int, bool]:
        """(cap, is it an upload) for a request to ``path``. Outside the API (the web UI's own upload
        route) multipart gets the upload cap as before."""
        api = path.startswith(self.api_prefixes)
        if multipart and (path.endswith(_UPLOAD_ROUTE) or not api):
            return self.upload_limit + MULTIPART_OVERHEAD, True
        if api and path.endswith(_TRANSCRIPT_ROUTE):
            return self.transcript_limit, False
        return self.json_limit, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data")
        limit, upload = self.limit_for(scope.get("path", ""), multipart)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, _too_large(limit, upload))
            return
        state: dict[str, Any] = {"received": 0, "failure": None, "started": False, "complete": False}

        async def limited_receive() -> Message:
            if state["complete"] or self.idle_seconds is None:
                message = await receive()  # after the body: waiting for a disconnect may take any time
            else:
                try:
                    message = await asyncio.wait_for(receive(), self.idle_seconds)
                except TimeoutError:
                    state["failure"] = ValidationError(
                        f"The request body stopped arriving (nothing for {self.idle_seconds:g} s); it was dropped. "
                        "Send it again.", field="audio_file" if upload else "body")
                    raise BodyStalled() from None
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                state["complete"] = not message.get("more_body", False)
                if state["received"] > limit:
                    state["failure"] = _too_large(limit, upload)
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the application made of the interrupted body, the client is told why.
            if state["failure"] is not None and not state["started"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        with contextlib.suppress(BodyTooLarge, BodyStalled):
            await self.app(scope, limited_receive, guarded_send)
        if state["failure"] is not None and not state["started"]:
            await self._refuse(scope, receive, send, state["failure"])

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: HeardError) -> None:
        response = error_response(error)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def _too_large(limit: int, upload: bool) -> FileTooLargeError:
    what = "The upload" if upload else "The request body"
    return FileTooLargeError(f"{what} exceeds the maximum size ({human_size(limit)})",
                             field="audio_file" if upload else "body")
