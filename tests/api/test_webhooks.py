"""Webhooks: the spec's payloads POSTed to the configuration's URLs, signed in the Standard Webhooks
format (checked with the ``standardwebhooks`` package), retried with backoff until a 2xx, redirects not
followed, and re-sent with the same webhook-id after an interrupted attempt (at-least-once)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from heard_local.domain.clock import utcnow
from heard_local.domain.webhook_signature import sign, signed_headers, verify
from heard_local.engine import Engine
from heard_local.engine.webhooks import WebhookDeliverer
from heard_local.store.webhooks import SUCCESS
from tests.api.support import Reply, ScriptedServer

TRANSCRIPT = {"transcript_text": "Agent: Thanks for calling\nCustomer: My order is late",
              "metadata": {"channel": "voice"}}


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def deliverer(api_engine: Engine) -> WebhookDeliverer:
    service = WebhookDeliverer(api_engine.store, api_engine.settings)
    api_engine.add_service(service)
    return service


def _configuration(client: TestClient, headers: dict[str, str], receiver: ScriptedServer) -> dict:
    response = client.post("/api/v1/configurations", headers=headers, json={
        "tag": "Webhooks", "webhooks": {"success_url": f"{receiver.url}/hooks/success",
                                        "error_url": f"{receiver.url}/hooks/error"}})
    assert response.status_code == 201
    configuration = response.json()
    assert configuration["webhook_secret"].startswith("whsec_")
    return configuration


def test_success_is_retried_until_2xx_and_signed(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                                  receiver: ScriptedServer, deliverer: WebhookDeliverer) -> None:
    receiver.route("/hooks/success", [Reply(status=500), Reply(status=503), Reply(status=200)])
    configuration = _configuration(client, headers, receiver)
    accepted = client.post("/api/v1/ingest/transcript", headers=headers,
                           json={**TRANSCRIPT, "configuration_id": configuration["configuration_id"]}).json()
    attempts = receiver.wait_for("/hooks/success", 3)
    time.sleep(0.3)
    assert len(receiver.requests_to("/hooks/success")) == 3  # nothing after the 2xx
    verifier = Webhook(configuration["webhook_secret"])
    payloads = [verifier.verify(a.body, a.headers) for a in attempts]  # raises on a bad signature
    assert len({a.headers["webhook-id"] for a in attempts}) == 1
    assert payloads[0] == payloads[1] == payloads[2]
    payload = payloads[0]
    assert set(payload) == {"transcription_id", "status", "configuration_id", "duration", "completed_at"}
    assert payload["status"] == "COMPLETED" and payload["transcription_id"] == accepted["transcription_id"]
    assert payload["configuration_id"] == configuration["configuration_id"]
    assert attempts[0].headers["content-type"] == "application/json"
    deliveries = api_engine.store.webhooks.list_for_transcription(accepted["transcription_id"])
    assert [(d.status, d.attempts) for d in deliveries] == [("DELIVERED", 3)]
    assert receiver.requests_to("/hooks/error") == []


def test_failure_sends_the_error_payload(client: TestClient, headers: dict[str, str], receiver: ScriptedServer,
                                         deliverer: WebhookDeliverer) -> None:
    receiver.route("/hooks/error", Reply(status=204))
    configuration = _configuration(client, headers, receiver)
    accepted = client.post("/api/v1/ingest/audio", headers=headers, json={
        "audio_url": "http://no-such-host.invalid/call.wav", "configuration_id": configuration["configuration_id"]})
    assert accepted.status_code == 202
    delivery = receiver.wait_for("/hooks/error", 1, timeout=60)[0]
    payload = Webhook(configuration["webhook_secret"]).verify(delivery.body, delivery.headers)
    assert payload["transcription_id"] == accepted.json()["transcription_id"]
    assert payload["status"] == "FAILED"
    assert payload["error"]["code"] == 400 and "audio_url" in payload["error"]["message"]
    assert receiver.requests_to("/hooks/success") == []


def test_redirects_are_not_followed(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                    receiver: ScriptedServer, deliverer: WebhookDeliverer) -> None:
    receiver.route("/hooks/success", [Reply(status=302, headers={"Location": "/elsewhere"}), Reply(status=200)])
    configuration = _configuration(client, headers, receiver)
    accepted = client.post("/api/v1/ingest/transcript", headers=headers,
                           json={**TRANSCRIPT, "configuration_id": configuration["configuration_id"]}).json()
    receiver.wait_for("/hooks/success", 2)
    assert receiver.requests_to("/elsewhere") == []
    deliveries = api_engine.store.webhooks.list_for_transcription(accepted["transcription_id"])
    assert deliveries[0].attempts == 2


def test_a_slow_receiver_times_out_and_is_retried(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                                  receiver: ScriptedServer) -> None:
    api_engine.settings.webhook_timeout_seconds = 0.3
    api_engine.add_service(WebhookDeliverer(api_engine.store, api_engine.settings))
    receiver.route("/hooks/success", [Reply(status=200, delay=1.0), Reply(status=200)])
    configuration = _configuration(client, headers, receiver)
    accepted = client.post("/api/v1/ingest/transcript", headers=headers,
                           json={**TRANSCRIPT, "configuration_id": configuration["configuration_id"]}).json()
    attempts = receiver.wait_for("/hooks/success", 2)
    assert attempts[0].headers["webhook-id"] == attempts[1].headers["webhook-id"]
    deadline = time.monotonic() + 10
    while api_engine.store.webhooks.list_for_transcription(accepted["transcription_id"])[0].status != "DELIVERED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api_engine.store.webhooks.list_for_transcription(accepted["transcription_id"])[0].attempts == 2


def _enqueue(engine: Engine, url: str, configuration_id: str) -> str:
    with engine.store.db.write() as cur:
        return engine.store.webhooks.enqueue(cur, transcription_id="t-1", configuration_id=configuration_id,
                                             event=SUCCESS, url=url, payload={"transcription_id": "t-1"})


def test_interrupted_attempt_is_resent_with_the_same_id(client: TestClient, headers: dict[str, str],
                                                        api_engine: Engine, receiver: ScriptedServer) -> None:
    receiver.route("/hooks/success", Reply(status=200))
    configuration = _configuration(client, headers, receiver)
    delivery_id = _enqueue(api_engine, f"{receiver.url}/hooks/success", configuration["configuration_id"])
    # A process took the row for an attempt and died before recording the answer: the row is leased.
    claimed = api_engine.store.webhooks.claim_due(lease_until=utcnow() + timedelta(hours=1), limit=1)
    assert [d.delivery_id for d in claimed] == [delivery_id]
    assert api_engine.store.webhooks.claim_due(lease_until=utcnow(), limit=1) == []  # never sent twice at once
    api_engine.add_service(WebhookDeliverer(api_engine.store, api_engine.settings))  # the next start
    delivered = receiver.wait_for("/hooks/success", 1)[0]
    assert delivered.headers["webhook-id"] == delivery_id
    assert json.loads(delivered.body) == {"transcription_id": "t-1"}


def test_gives_up_after_the_configured_time(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                            receiver: ScriptedServer) -> None:
    api_engine.settings.webhook_give_up_seconds = 0.5
    receiver.route("/hooks/success", Reply(status=500))
    configuration = _configuration(client, headers, receiver)
    delivery_id = _enqueue(api_engine, f"{receiver.url}/hooks/success", configuration["configuration_id"])
    api_engine.add_service(WebhookDeliverer(api_engine.store, api_engine.settings))
    deadline = time.monotonic() + 10
    while (delivery := api_engine.store.webhooks.get(delivery_id)) and delivery.status != "FAILED":
        assert time.monotonic() < deadline, delivery
        time.sleep(0.05)
    assert delivery.last_error == "HTTP 500" and delivery.attempts >= 2


def test_signature_matches_the_standard_webhooks_reference() -> None:
    import base64
    import secrets
    from datetime import datetime

    random_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    for secret in (random_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"):
        body = json.dumps({"transcription_id": "x", "status": "COMPLETED"})
        headers = signed_headers(secret, "msg_1", body)
        assert Webhook(secret).verify(body, headers) == json.loads(body)
        assert verify(secret, headers, body)
        assert not verify(secret, headers, body + " ")
        assert not verify(secret, {**headers, "webhook-id": "msg_2"}, body)
        timestamp = int(headers["webhook-timestamp"])
        reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(timestamp), body)
        assert sign(secret, "msg_1", timestamp, body) == reference


def test_new_configuration_secrets_work_with_standard_verifiers(client: TestClient, headers: dict[str, str]) -> None:
    secret = client.post("/api/v1/configurations", headers=headers, json={"tag": "x"}).json()["webhook_secret"]
    body = '{"status": "COMPLETED"}'
    assert Webhook(secret).verify(body, signed_headers(secret, "msg_x", body)) == {"status": "COMPLETED"}
