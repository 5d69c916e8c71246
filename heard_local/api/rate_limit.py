"""Per-key token buckets: each API key may make ``rate`` calls a second on average, ``burst`` at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from heard_local.errors import RateLimitedError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Thread-safe; ``rate <= 0`` turns limiting off."""

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def wait_time(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when one was there, else the seconds until there is one."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def check(self, key: str) -> None:
        """RateLimitedError (429 with Retry-After) when ``key`` has no token left."""
        wait = self.wait_time(key)
        if wait > 0:
            raise RateLimitedError(
                f"Too many requests for this API key (limit {self.rate:g}/s, bursts of {self.burst}); "
                f"retry after {wait:.2f} s", retry_after=wait, details={"retry_after": round(wait, 3)})
