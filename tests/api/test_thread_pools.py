"""Calls that wait a long time cannot fill the thread pool every other route shares (issue 15, item 7):
analytics narratives waiting for Ollama, and retries waiting on an Idempotency-Key still in use. Both
get threads of their own; beyond a few waiting, 429. Served by uvicorn, as in ``heard-local serve``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from heard_local.api import create_app
from heard_local.api.idempotency import request_hash
from heard_local.config import Settings
from heard_local.domain import TranscriptIngest
from heard_local.engine import Engine
from tests.api.support import LiveServer
from tests.support.ollama_server import OllamaTestServer

CALLERS = 50  # more than the shared pool's 40 threads


def _quick_call_seconds(live: LiveServer, key: str, job_id: str) -> float:
    """How long a plain synchronous route (job status, on the shared pool) takes to answer."""
    started = time.monotonic()
    response = httpx.get(f"{live.url}/api/v1/ingest/jobs/{job_id}", headers={"X-API-Key": key}, timeout=60)
    assert response.status_code == 200
    return time.monotonic() - started


@pytest.fixture
def slow_ollama() -> Iterator[OllamaTestServer]:
    with OllamaTestServer(delay=10.0) as server:
        yield server


def test_slow_narratives_leave_the_shared_pool_free(settings: Settings, slow_ollama: OllamaTestServer) -> None:
    settings = settings.model_copy(update={"ollama_host": slow_ollama.url, "ollama_timeout_seconds": 30.0,
                                           "rate_limit_per_second": 0.0})
    with Engine.open(settings) as engine:
        key = engine.keys.create("t")[1]
        job = engine.ingest.transcript({"transcript_text": "Agent: hello\nCustomer: hi"}).job
        engine.jobs.wait(job.job_id, timeout=30)
        configuration_id = engine.configurations.default_id
        with LiveServer(create_app(engine)) as live, ThreadPoolExecutor(CALLERS) as callers:
            url = f"{live.url}/api/v1/configurations/{configuration_id}/analytics"
            reports = [callers.submit(httpx.get, url, headers={"X-API-Key": key}, timeout=120)
                       for _ in range(CALLERS)]
            time.sleep(1.0)  # every narrative call has arrived and waits (on Ollama, or for a thread)
            assert _quick_call_seconds(live, key, job.job_id) < 5.0  # before: after the narratives, 10 s+
            statuses = sorted(report.result().status_code for report in reports)
    assert 200 in statuses and set(statuses) <= {200, 429}
    assert statuses.count(429) >= CALLERS - 2 - 8  # two run, eight wait, the rest are told to retry


def test_retries_waiting_on_an_idempotency_key_leave_the_shared_pool_free(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"rate_limit_per_second": 0.0})
    body = {"transcript_text": "Agent: the first request with this key is still running"}
    with Engine.open(settings) as engine:
        api_key = engine.keys.create("t")[1]
        caller = engine.keys.authenticate(api_key)
        other = engine.ingest.transcript({"transcript_text": "Agent: another call"}).job
        release = threading.Event()

        def first_request_still_running() -> tuple[int, dict[str, object]]:
            release.wait(30)
            return 202, {"job_id": "job_first", "status": "processing", "estimated_duration_seconds": 1}

        fingerprint = request_hash("ingest/transcript", TranscriptIngest.model_validate(body).model_dump(mode="json"))
        holder = threading.Thread(target=engine.ingest.run_idempotent,
                                  args=(f"{caller.key_id}:retry-me", fingerprint, first_request_still_running))
        holder.start()
        time.sleep(0.2)  # the key is reserved
        with LiveServer(create_app(engine)) as live, ThreadPoolExecutor(CALLERS) as callers:
            headers = {"X-API-Key": api_key, "Idempotency-Key": "retry-me"}
            retries = [callers.submit(httpx.post, f"{live.url}/api/v1/ingest/transcript", json=body, headers=headers,
                                      timeout=60) for _ in range(CALLERS)]
            time.sleep(1.0)  # every retry has arrived and waits for the first answer
            assert _quick_call_seconds(live, api_key, other.job_id) < 5.0  # before: up to 30 s
            release.set()
            holder.join(30)
            answers = [retry.result() for retry in retries]
    replayed = [a for a in answers if a.status_code == 202]
    assert replayed and all(a.json()["job_id"] == "job_first" for a in replayed)
    assert {a.status_code for a in answers} <= {202, 429}
