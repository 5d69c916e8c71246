"""A clock the test moves by hand, for code that takes ``clock=`` (a TTL, a throttle): the test says
"0.35 s later" instead of sleeping through them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ManualWallClock:
    """The same for code that reads the time of day (``clock=`` returning an aware UTC datetime)."""

    def __init__(self, start: datetime = datetime(2026, 1, 1, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
