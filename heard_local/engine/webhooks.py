"""Delivering the webhook outbox: signed POSTs, retried with backoff until the receiver answers 2xx.

Delivery is at-least-once. The outbox row is written in the same transaction as the job's final
state; it is marked delivered only after a 2xx, so a crash in between sends it again with the same
``webhook-id`` (receivers deduplicate on it, as the Standard Webhooks format intends). Redirects are
not followed (a 3xx counts as a failure), each attempt has a timeout, and after
``webhook_give_up_seconds`` a delivery is marked FAILED.

Signatures follow Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">`` keyed with the base64 part of the configuration's
``whsec_…`` secret.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta

import httpx

from heard_local.config import Settings
from heard_local.domain.clock import utcnow
from heard_local.domain.webhook_signature import signed_headers
from heard_local.store import Store
from heard_local.store.webhooks import Delivery

log = logging.getLogger(__name__)

_LEASE_MARGIN_SECONDS = 10.0


class WebhookDeliverer:
    """A background service (``start``/``stop``) emptying the outbox with a few delivery threads."""

    def __init__(self, store: Store, settings: Settings, *, transport: httpx.BaseTransport | None = None):
        self.store = store
        self.settings = settings
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._threads: list[threading.Thread] = []
        self._http = httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                                  transport=transport, trust_env=False)

    def start(self) -> None:
        if self._threads:
            return
        released = self.store.webhooks.release_leases()
        if released:
            log.warning("re-sending %d webhook(s) that were in flight when heard-local last stopped", released)
        for index in range(self.settings.webhook_concurrency):
            thread = threading.Thread(target=self._loop, name=f"heard-webhooks-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wakeup.set()
        for thread in self._threads:
            thread.join(timeout=self.settings.webhook_timeout_seconds + 5)
        self._threads.clear()
        self._http.close()

    def notify(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wakeup.set()

    def __repr__(self) -> str:
        return f"WebhookDeliverer({len(self._threads)} threads)"

    # --- the loop ---------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.deliver_due()
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("webhook delivery loop failed; trying again shortly")
                worked = False
            if not worked:
                self._wakeup.wait(self._idle_wait())
                self._wakeup.clear()

    def _idle_wait(self) -> float:
        try:
            due = self.store.webhooks.next_due_at()
        except Exception:
            return self.settings.webhook_poll_seconds
        if due is None:
            return self.settings.webhook_poll_seconds
        return max(0.02, min(self.settings.webhook_poll_seconds, (due - utcnow()).total_seconds()))

    def deliver_due(self) -> bool:
        """Take one due delivery and attempt it; False when none was due."""
        due = self.store.webhooks.next_due_at()
        if due is None or due > utcnow():  # a plain read first: idle polls never take the write lock
            return False
        lease = utcnow() + timedelta(seconds=self.settings.webhook_timeout_seconds + _LEASE_MARGIN_SECONDS)
        claimed = self.store.webhooks.claim_due(lease_until=lease, limit=1)
        for delivery in claimed:
            self._attempt(delivery)
        return bool(claimed)

    def _attempt(self, delivery: Delivery) -> None:
        secret = self.store.configurations.webhook_secret(delivery.configuration_id)
        if not secret:
            self.store.webhooks.mark_failed(delivery.delivery_id, "the configuration was deleted, so there is no "
                                            "secret to sign with")
            return
        headers = signed_headers(secret, delivery.delivery_id, delivery.body)
        try:
            response = self._http.post(delivery.url, content=delivery.body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            self._failed(delivery, f"{type(exc).__name__}: {exc}".rstrip(": "))
            return
        if 200 <= response.status_code < 300:
            self.store.webhooks.mark_delivered(delivery.delivery_id)
            log.info("webhook %s (%s) delivered to %s", delivery.delivery_id, delivery.event, delivery.url)
            return
        note = " (redirects are not followed)" if 300 <= response.status_code < 400 else ""
        self._failed(delivery, f"HTTP {response.status_code}{note}")

    def _failed(self, delivery: Delivery, error: str) -> None:
        delay = self.retry_delay(delivery.attempts)
        when = utcnow() + timedelta(seconds=delay)
        if when - delivery.created_at > timedelta(seconds=self.settings.webhook_give_up_seconds):
            log.error("webhook %s to %s failed for good after %d attempts: %s", delivery.delivery_id,
                      delivery.url, delivery.attempts, error)
            self.store.webhooks.mark_failed(delivery.delivery_id, error)
            return
        log.warning("webhook %s to %s failed (attempt %d: %s); retrying in %.1fs", delivery.delivery_id,
                    delivery.url, delivery.attempts, error, delay)
        self.store.webhooks.retry_at(delivery.delivery_id, when, error)

    def retry_delay(self, attempts: int) -> float:
        """Exponential backoff with ±25 % jitter after ``attempts`` failed attempts."""
        base = min(self.settings.webhook_retry_max_seconds,
                   self.settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1))
        return max(0.0, base * random.uniform(0.75, 1.25))
