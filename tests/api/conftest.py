"""Fixtures for the API tests: an engine with small limits, the app on it, a key and a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.config import Settings
from heard_local.engine import Engine

ADMIN_TOKEN = "admin-token-for-tests"
UPLOAD_CAP = 256 * 1024


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "max_upload_bytes": UPLOAD_CAP,
        "max_request_body_bytes": 64 * 1024,
        "max_transcript_request_bytes": 64 * 1024,
        "rate_limit_per_second": 10_000.0,
        "rate_limit_burst": 10_000,
        "webhook_retry_base_seconds": 0.05,
        "webhook_retry_max_seconds": 0.2,
        "webhook_poll_seconds": 0.05,
        "webhook_timeout_seconds": 2.0,
        "job_max_attempts": 1,
    })


@pytest.fixture
def api_engine(api_settings: Settings) -> Iterator[Engine]:
    engine = Engine.open(api_settings)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def app(api_engine: Engine) -> FastAPI:
    return create_app(api_engine, admin_token=ADMIN_TOKEN)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api_key(api_engine: Engine) -> str:
    return api_engine.keys.create("tests")[1]


@pytest.fixture
def headers(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key}
