"""X-API-Key on every call: missing, wrong and revoked keys all get the same AUTH_ERROR; keys are
stored hashed; key management needs the server's admin token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.engine import Engine
from tests.api.conftest import ADMIN_TOKEN
from tests.support.clock import ManualClock
from tests.support.engine_internals import store_of

TRANSCRIPT = {"transcript_text": "Agent: Hello\nCustomer: Hi", "metadata": {"channel": "chat"}}


@pytest.mark.parametrize("prefix", ["/api/v1", "/v1"])
def test_missing_wrong_and_revoked_keys_get_the_same_auth_error(client: TestClient, api_engine: Engine,
                                                                prefix: str) -> None:
    key, secret = api_engine.keys.create("soon revoked")[0], api_engine.keys.create("other")[1]
    revoked_key, revoked_secret = api_engine.keys.create("revoked")
    api_engine.keys.revoke(revoked_key.key_id)
    answers = [
        client.post(f"{prefix}/ingest/transcript", json=TRANSCRIPT),
        client.post(f"{prefix}/ingest/transcript", json=TRANSCRIPT, headers={"X-API-Key": "sk_local_wrong"}),
        client.post(f"{prefix}/ingest/transcript", json=TRANSCRIPT, headers={"X-API-Key": secret + "x"}),
        client.post(f"{prefix}/ingest/transcript", json=TRANSCRIPT, headers={"X-API-Key": revoked_secret}),
    ]
    assert key.active
    assert {r.status_code for r in answers} == {401}
    assert len({r.text for r in answers}) == 1  # nothing tells a wrong key from a revoked one
    assert answers[0].json()["error"]["code"] == "AUTH_ERROR"
    assert api_engine.transcriptions.list().total == 0


def test_every_resource_needs_a_key(client: TestClient) -> None:
    for method, path in [("GET", "/api/v1/configurations"), ("GET", "/api/v1/transcriptions"),
                         ("GET", "/api/v1/customers"), ("GET", "/api/v1/jobs/job_x"),
                         ("GET", "/api/v1/ingest/jobs/job_x"), ("POST", "/api/v1/ingest/audio"),
                         ("GET", "/api/v1/status"), ("POST", "/api/v1/update-transcription-group")]:
        response = client.request(method, path)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"]["code"] == "AUTH_ERROR"
    assert client.get("/api/v1/health").status_code == 200


def test_keys_are_stored_hashed_and_revocation_takes_effect(api_engine: Engine) -> None:
    api_engine.settings.auth_cache_seconds = 0.3
    key, secret = api_engine.keys.create("ci")
    stored = store_of(api_engine).db.fetchall("SELECT * FROM api_keys")
    assert all(secret not in str(row) for row in stored)
    clock = ManualClock()
    with TestClient(create_app(api_engine, clock=clock)) as client:
        assert client.get("/api/v1/configurations", headers={"X-API-Key": secret}).status_code == 200
        api_engine.keys.revoke(key.key_id)  # in-process, as the UI does: trusted at most 0.3 s longer
        clock.advance(0.35)
        assert client.get("/api/v1/configurations", headers={"X-API-Key": secret}).status_code == 401


def test_key_management_needs_the_admin_token(client: TestClient, headers: dict[str, str]) -> None:
    refused = client.post("/api/v1/keys", json={"name": "x"}, headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "AUTH_ERROR"
    admin = {"X-API-Key": ADMIN_TOKEN}
    created = client.post("/api/v1/keys", json={"name": "made by admin"}, headers=admin)
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert client.get("/api/v1/configurations", headers={"X-API-Key": new_key}).status_code == 200
    listed = client.get("/api/v1/keys", headers=admin).json()["keys"]
    assert "made by admin" in [k["name"] for k in listed] and all("key" not in k for k in listed)
    revoked = client.delete(f"/api/v1/keys/{created.json()['key_id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/api/v1/configurations", headers={"X-API-Key": new_key}).status_code == 401
