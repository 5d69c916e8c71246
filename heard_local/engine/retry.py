"""When a failed job is tried again: exponential backoff with jitter, for transient errors only."""

from __future__ import annotations

import random
from dataclasses import dataclass

from heard_local.errors import HeardError


@dataclass(frozen=True)
class RetryStrategy:
    max_attempts: int = 4
    base_seconds: float = 2.0
    max_seconds: float = 300.0
    jitter: float = 0.25  # ± fraction of the delay, so retries of many jobs do not arrive together

    def is_retryable(self, error: BaseException) -> bool:
        """Permanent failures (bad input, unsupported format) are never retried; errors heard-local
        marks transient, OS/network errors and unexpected exceptions are."""
        if isinstance(error, HeardError):
            return error.retryable
        return isinstance(error, Exception)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), or None: give up."""
        if attempt >= self.max_attempts:
            return None
        delay = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        spread = delay * self.jitter
        return max(0.0, delay + (rng or random).uniform(-spread, spread))
