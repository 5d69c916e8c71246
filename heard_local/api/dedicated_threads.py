"""A few threads of their own for calls that can wait a long time, so they cannot fill the thread pool
every other route shares (40 threads: 40 slow analytics narratives, each waiting for Ollama, or 40
retries waiting on one Idempotency-Key, used to stall every other synchronous route).

Calls beyond ``threads`` wait on the event loop (no thread held); beyond ``max_waiting`` of those, the
client is told to retry (429 with Retry-After).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from heard_local.errors import RateLimitedError

T = TypeVar("T")


class DedicatedThreads:
    def __init__(self, what: str, *, threads: int, max_waiting: int):
        self.what = what
        self.threads = threads
        self.max_waiting = max_waiting
        self._limiter: anyio.CapacityLimiter | None = None  # made on the event loop, at first use

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        if self._limiter.statistics().tasks_waiting >= self.max_waiting:
            raise RateLimitedError(f"Too many {self.what} are in progress; retry in a few seconds.", retry_after=5.0)
        return await anyio.to_thread.run_sync(functools.partial(call, *args, **kwargs), limiter=self._limiter)
