"""A clock the test moves by hand, for code that takes ``clock=`` (a TTL, a throttle): the test says
"0.35 s later" instead of sleeping through them."""

from __future__ import annotations


class ManualClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
