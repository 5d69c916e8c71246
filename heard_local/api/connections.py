"""How the server holds connections: a bounded number, each with a deadline for its request headers.

uvicorn accepts any number of connections and waits forever for a request's headers, so a slowloris
client (open many connections, dribble a header byte now and then) used up the process's file
descriptors. Here a connection beyond ``max_connections`` is closed as soon as it is accepted
(uvicorn's ``limit_concurrency`` answers 503 to requests beyond it), and one whose request headers
are not complete ``header_timeout_seconds`` after its first byte (or after it opened) is closed. A body
that stops arriving is the body-limit middleware's business (``upload_idle_timeout_seconds``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from heard_local.config import Settings


def guarded_protocol(*, max_connections: int, header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class (httptools or h11) with the two limits above."""

    class GuardedHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._header_timer: asyncio.TimerHandle | None = None
            self._seen_cycle: Any = None
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            cycle = self.cycle
            if cycle is not None and cycle is not self._seen_cycle:  # a request's headers are complete
                self._seen_cycle = cycle
                self._cancel_header_timer()
            elif (cycle is None or cycle.response_complete) and self._header_timer is None:
                self._arm_header_timer()  # the first bytes of the next request on a kept-alive connection

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            cycle = self.cycle
            if (cycle is None or cycle.response_complete) and not self.transport.is_closing():
                self.transport.close()

    return GuardedHTTPProtocol


def uvicorn_config(app: Any, settings: Settings, **extra: Any) -> uvicorn.Config:
    """The configuration ``heard-local serve`` runs uvicorn with."""
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning", access_log=False,
        timeout_graceful_shutdown=5, limit_concurrency=settings.max_connections,
        http=guarded_protocol(max_connections=settings.max_connections, header_timeout=settings.header_timeout_seconds),
        **extra,
    )
