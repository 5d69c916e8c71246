"""Per-key token buckets: 429 RATE_LIMITED with Retry-After once a key's burst is spent."""

from __future__ import annotations

from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.api.rate_limit import RateLimiter
from heard_local.engine import Engine
from heard_local.errors import RateLimitedError
from tests.api.conftest import ADMIN_TOKEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.wait_time("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_time("k") == 0.5  # one token takes half a second at 2/s
    assert limiter.wait_time("other key") == 0.0
    clock.now += 0.5
    assert limiter.wait_time("k") == 0.0
    clock.now += 100
    assert [limiter.wait_time("k") for _ in range(4)][-1] > 0  # the burst caps the refill
    try:
        limiter.check("k")
    except RateLimitedError as error:
        assert error.http_status == 429 and error.retry_after > 0
    else:
        raise AssertionError("expected RateLimitedError")


def test_zero_rate_turns_limiting_off() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.wait_time("k") == 0.0 for _ in range(100))


def test_api_limits_each_key_separately(api_engine: Engine, api_key: str) -> None:
    api_engine.settings.rate_limit_per_second = 0.01
    api_engine.settings.rate_limit_burst = 3
    other_key = api_engine.keys.create("other")[1]
    with TestClient(create_app(api_engine, admin_token=ADMIN_TOKEN)) as client:
        mine = [client.get("/api/v1/configurations", headers={"X-API-Key": api_key}) for _ in range(4)]
        assert [r.status_code for r in mine] == [200, 200, 200, 429]
        assert int(mine[-1].headers["Retry-After"]) >= 60  # one token per 100 s
        assert mine[-1].json()["error"]["code"] == "RATE_LIMITED"
        assert client.get("/api/v1/configurations", headers={"X-API-Key": other_key}).status_code == 200
        # The local admin (the CLI on this machine) is not limited.
        admin = [client.get("/api/v1/configurations", headers={"X-API-Key": ADMIN_TOKEN}) for _ in range(10)]
        assert {r.status_code for r in admin} == {200}
        # A rate-limited ingest is refused before anything is stored.
        refused = client.post("/api/v1/ingest/transcript", headers={"X-API-Key": api_key},
                              json={"transcript_text": "Agent: hi"})
        assert refused.status_code == 429
    assert api_engine.transcriptions.list().total == 0
