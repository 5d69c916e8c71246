"""Webhooks: the spec's payloads POSTed to the configuration's URLs, signed in the Standard Webhooks
format (checked with the ``standardwebhooks`` package), retried with backoff until a 2xx, redirects not
followed, and re-sent with the same webhook-id after an interrupted attempt (at-least-once). Their URLs
follow the audio_url SSRF policy; a slow receiver is cut at the deadline, never holds other
configurations' webhooks, and a row is never sent twice at once.

The receivers here listen on 127.0.0.1, which the policy refuses: these tests trust it explicitly
(``url_allowed_networks``), as a user with a receiver on the same machine would."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from heard_local.config import Settings
from heard_local.domain.clock import utcnow
from heard_local.domain.webhook_signature import sign, signed_headers, verify
from heard_local.engine import Engine
from heard_local.engine.webhooks import WebhookDeliverer
from heard_local.store.webhooks import SUCCESS, Delivery
from tests.api.support import DribblingServer, Reply, ScriptedServer
from tests.support.engine_internals import store_of

TRANSCRIPT = {"transcript_text": "Agent: Thanks for calling\nCustomer: My order is late",
              "metadata": {"channel": "voice"}}


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"url_allowed_networks": ["127.0.0.1/32"]})


@pytest.fixture
def receiver() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def deliverer(api_engine: Engine) -> WebhookDeliverer:
    service = api_engine.webhook_deliverer()
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
    deliveries = store_of(api_engine).webhooks.list_for_transcription(accepted["transcription_id"])
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
    deliveries = store_of(api_engine).webhooks.list_for_transcription(accepted["transcription_id"])
    assert deliveries[0].attempts == 2


def test_a_slow_receiver_times_out_and_is_retried(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                                  receiver: ScriptedServer) -> None:
    api_engine.settings.webhook_timeout_seconds = 0.3
    api_engine.add_service(api_engine.webhook_deliverer())
    receiver.route("/hooks/success", [Reply(status=200, delay=1.0), Reply(status=200)])
    configuration = _configuration(client, headers, receiver)
    accepted = client.post("/api/v1/ingest/transcript", headers=headers,
                           json={**TRANSCRIPT, "configuration_id": configuration["configuration_id"]}).json()
    attempts = receiver.wait_for("/hooks/success", 2)
    assert attempts[0].headers["webhook-id"] == attempts[1].headers["webhook-id"]
    deadline = time.monotonic() + 10
    while store_of(api_engine).webhooks.list_for_transcription(accepted["transcription_id"])[0].status != "DELIVERED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert store_of(api_engine).webhooks.list_for_transcription(accepted["transcription_id"])[0].attempts == 2


def _enqueue(engine: Engine, url: str, configuration_id: str) -> str:
    with store_of(engine).db.write() as cur:
        return store_of(engine).webhooks.enqueue(cur, transcription_id="t-1", configuration_id=configuration_id,
                                             event=SUCCESS, url=url, payload={"transcription_id": "t-1"})


def test_interrupted_attempt_is_resent_with_the_same_id(client: TestClient, headers: dict[str, str],
                                                        api_engine: Engine, receiver: ScriptedServer) -> None:
    receiver.route("/hooks/success", Reply(status=200))
    configuration = _configuration(client, headers, receiver)
    delivery_id = _enqueue(api_engine, f"{receiver.url}/hooks/success", configuration["configuration_id"])
    # A process took the row for an attempt and died before recording the answer: the row is leased.
    claimed = store_of(api_engine).webhooks.claim_due(lease_until=utcnow() + timedelta(hours=1), limit=1)
    assert [d.delivery_id for d in claimed] == [delivery_id]
    assert store_of(api_engine).webhooks.claim_due(lease_until=utcnow(), limit=1) == []  # never sent twice at once
    api_engine.add_service(api_engine.webhook_deliverer())  # the next start
    delivered = receiver.wait_for("/hooks/success", 1)[0]
    assert delivered.headers["webhook-id"] == delivery_id
    assert json.loads(delivered.body) == {"transcription_id": "t-1"}


def test_gives_up_after_the_configured_time(client: TestClient, headers: dict[str, str], api_engine: Engine,
                                            receiver: ScriptedServer) -> None:
    api_engine.settings.webhook_give_up_seconds = 0.5
    receiver.route("/hooks/success", Reply(status=500))
    configuration = _configuration(client, headers, receiver)
    delivery_id = _enqueue(api_engine, f"{receiver.url}/hooks/success", configuration["configuration_id"])
    api_engine.add_service(api_engine.webhook_deliverer())
    deadline = time.monotonic() + 10
    while (delivery := store_of(api_engine).webhooks.get(delivery_id)) and delivery.status != "FAILED":
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


# --- the SSRF policy, deadlines and fairness ----------------------------------------------------------


def _wait_status(engine: Engine, delivery_id: str, status: str, timeout: float = 20.0) -> Delivery:
    deadline = time.monotonic() + timeout
    while (delivery := store_of(engine).webhooks.get(delivery_id)) is None or delivery.status != status:
        assert time.monotonic() < deadline, delivery
        time.sleep(0.05)
    return delivery


def test_webhook_urls_to_this_machine_or_the_lan_are_refused_when_saved(client: TestClient, headers: dict[str, str],
                                                                       api_engine: Engine) -> None:
    api_engine.settings.url_allowed_networks = []  # the default policy
    for url in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/hook", "http://2130706433/",
                "http://169.254.169.254/latest/meta-data/", "http://192.168.1.10/hook"):
        for name in ("success_url", "error_url"):
            refused = client.post("/api/v1/configurations", headers=headers,
                                  json={"tag": "Hooks", "webhooks": {name: url}})
            assert refused.status_code == 400, (url, refused.text)
            error = refused.json()["error"]
            assert error["code"] == "VALIDATION_ERROR" and error["details"]["field"] == f"webhooks.{name}"
            assert "may not point to" in error["message"] and "every delivery" in error["message"]
    created = client.post("/api/v1/configurations", headers=headers,
                          json={"tag": "Hooks", "webhooks": {"success_url": "https://hooks.example.com/done"}})
    assert created.status_code == 201  # a name: resolved and checked at delivery
    changed = client.patch(f"/api/v1/configurations/{created.json()['configuration_id']}", headers=headers,
                           json={"webhooks": {"error_url": "http://10.0.0.1/x"}})
    assert changed.status_code == 400 and changed.json()["error"]["details"]["field"] == "webhooks.error_url"


def test_a_webhook_whose_host_resolves_to_this_machine_is_refused_at_delivery(
        client: TestClient, headers: dict[str, str], api_engine: Engine, receiver: ScriptedServer) -> None:
    receiver.route("/hook", Reply(status=200))
    api_engine.settings.url_allowed_networks = []
    dns = {"hooks.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"], "lan.test": ["10.0.0.7"]}
    configuration = client.post("/api/v1/configurations", headers=headers, json={"tag": "Hooks"}).json()
    ids = {host: _enqueue(api_engine, f"http://{host}:{receiver.port}/hook", configuration["configuration_id"])
           for host in dns}
    api_engine.add_service(api_engine.webhook_deliverer(resolver=lambda host, port: dns[host]))
    for host, delivery_id in ids.items():
        failed = _wait_status(api_engine, delivery_id, "FAILED")
        assert failed.attempts == 1 and "may not point to" in (failed.last_error or ""), failed
        assert dns[host][0] in (failed.last_error or "")
    assert receiver.requests == []


def test_a_slow_receiver_does_not_hold_up_other_configurations(client: TestClient, headers: dict[str, str],
                                                               api_engine: Engine, receiver: ScriptedServer) -> None:
    """The slow receiver answers a byte at a time, so no per-read timeout ever fires. Today's
    deadline-less client would keep every worker on it; the other configuration's webhook must still go
    out within 30 s (in practice at once)."""
    api_engine.settings.webhook_timeout_seconds = 2.0
    receiver.route("/fast", Reply(status=200))
    slow_config = client.post("/api/v1/configurations", headers=headers, json={"tag": "Slow"}).json()
    fast_config = client.post("/api/v1/configurations", headers=headers, json={"tag": "Fast"}).json()
    with DribblingServer(interval=0.2) as slow:
        for _ in range(2 * api_engine.settings.webhook_concurrency):
            _enqueue(api_engine, f"{slow.url}/slow", slow_config["configuration_id"])
        deliverer = api_engine.webhook_deliverer()
        api_engine.add_service(deliverer)
        deadline = time.monotonic() + 20
        while not slow.connections:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # let every idle worker take what it can
        queued = time.monotonic()
        fast_id = _enqueue(api_engine, f"{receiver.url}/fast", fast_config["configuration_id"])
        deliverer.notify()
        receiver.wait_for("/fast", 1, timeout=30)
        delay = time.monotonic() - queued
        assert delay < 30, delay
        _wait_status(api_engine, fast_id, "DELIVERED")
        # One slow delivery in flight at a time: the slow configuration holds one worker, not all of them.
        assert len(slow.open_connections()) <= 1
        opened = sorted(c.opened for c in slow.connections)
        assert all(later - earlier > 0.2 for earlier, later in itertools.pairwise(opened)), opened
    print(f"other configuration's webhook delivered {delay * 1000:.0f} ms after it was queued")


def test_each_attempt_ends_at_the_deadline_and_never_overlaps_another(client: TestClient, headers: dict[str, str],
                                                                      api_engine: Engine) -> None:
    api_engine.settings.webhook_timeout_seconds = 1.0
    api_engine.settings.webhook_retry_base_seconds = 0.3
    configuration = client.post("/api/v1/configurations", headers=headers, json={"tag": "Slow"}).json()
    with DribblingServer(interval=0.2) as slow:
        delivery_id = _enqueue(api_engine, f"{slow.url}/slow", configuration["configuration_id"])
        api_engine.add_service(api_engine.webhook_deliverer())
        time.sleep(4.5)
        connections = list(slow.connections)
    assert len(connections) >= 2  # attempts were cut, and retried
    assert {c.header("webhook-id") for c in connections} == {delivery_id}
    for earlier, later in itertools.pairwise(connections):
        assert earlier.closed is not None and earlier.closed <= later.opened, "two attempts at once"
    for connection in connections[:-1]:
        assert connection.closed is not None and connection.closed - connection.opened < 1.0 + 1.5
    delivery = store_of(api_engine).webhooks.get(delivery_id)
    assert delivery is not None and "no answer within 1 s" in (delivery.last_error or "")


def test_an_attempt_whose_lease_was_taken_over_cannot_record_its_answer(client: TestClient, headers: dict[str, str],
                                                                        api_engine: Engine) -> None:
    import threading

    configuration = client.post("/api/v1/configurations", headers=headers, json={"tag": "Hooks"}).json()
    delivery_id = _enqueue(api_engine, "https://hooks.example.com/x", configuration["configuration_id"])
    outbox = store_of(api_engine).webhooks
    [stale] = outbox.claim_due(lease_until=utcnow() - timedelta(seconds=1), limit=1)  # a lease already over
    [current] = outbox.claim_due(lease_until=utcnow() + timedelta(hours=1), limit=1)
    assert (stale.attempts, current.attempts) == (1, 2)
    assert not outbox.mark_delivered(stale) and not outbox.retry_at(stale, utcnow(), "late")
    assert outbox.get(delivery_id).status == "SENDING"  # type: ignore[union-attr]
    assert outbox.mark_delivered(current) and outbox.get(delivery_id).status == "DELIVERED"  # type: ignore[union-attr]

    # Many workers claiming at once: each row goes to exactly one of them.
    others = [client.post("/api/v1/configurations", headers=headers, json={"tag": f"C{i}"}).json()
              for i in range(6)]
    ids = {_enqueue(api_engine, "https://hooks.example.com/x", c["configuration_id"]) for c in others}
    claimed: list[str] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(3):
            claimed.extend(d.delivery_id for d in outbox.claim_due(lease_until=utcnow() + timedelta(hours=1),
                                                                   limit=1))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(claimed) == sorted(ids)
