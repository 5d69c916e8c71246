"""Request bodies are capped while they arrive, whatever Content-Length claims.

JSON bodies get ``max_request_body_bytes``; multipart uploads ``max_upload_bytes`` plus room for the
other form fields (the upload route enforces the exact cap on the audio file itself). A declared
length over the cap is refused before reading; a body that grows past it is cut off and answered
413 FILE_TOO_LARGE.
"""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heard_local.api.errors import error_response
from heard_local.api.uploads import human_size
from heard_local.errors import FileTooLargeError

# Room for the metadata and configuration_id parts and the multipart framing.
MULTIPART_OVERHEAD = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised into the application by ``receive`` once the cap is passed."""


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int):
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        multipart = headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data")
        limit = self.upload_limit + MULTIPART_OVERHEAD if multipart else self.json_limit
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit, multipart)
            return
        state: dict[str, Any] = {"received": 0, "tripped": False, "started": False}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["tripped"] = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the application made of the interrupted body, the client is told 413.
            if state["tripped"] and not state["started"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if state["tripped"] and not state["started"]:
            await self._refuse(scope, receive, send, limit, multipart)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int, multipart: bool) -> None:
        what = "The upload" if multipart else "The request body"
        error = FileTooLargeError(f"{what} exceeds the maximum size ({human_size(limit)})",
                                  field="audio_file" if multipart else "body")
        response = error_response(error)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)

