"""Delivering the webhook outbox: signed POSTs, retried with backoff until the receiver answers 2xx.

Delivery is at-least-once. The outbox row is written in the same transaction as the job's final
state; it is marked delivered only after a 2xx, so a crash in between sends it again with the same
``webhook-id`` (receivers deduplicate on it, as the Standard Webhooks format intends). Redirects are
not followed (a 3xx counts as a failure), and after ``webhook_give_up_seconds`` a delivery is marked
FAILED.

- Webhook URLs come from clients, so they go through the same SSRF policy as ``audio_url``
  (:mod:`heard_local.adapters.url_policy`): checked when a configuration is saved (what can be known
  without DNS) and again at every delivery, where the host is resolved, every address checked and the
  connection pinned to the checked one. A refused URL fails its delivery at once, saying why.
- ``webhook_timeout_seconds`` is a deadline over the whole attempt (DNS, connect, sending, the answer's
  headers), shorter than the row's lease, so an attempt always ends before another worker may take it.
- The outbox hands out one delivery per configuration at a time (:mod:`heard_local.store.webhooks`),
  so a slow receiver holds one worker and other configurations' webhooks keep going out.

Signatures follow Standard Webhooks: ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">`` keyed with the base64 part of the configuration's
``whsec_…`` secret.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from datetime import timedelta
from typing import Any

import certifi
import httpcore

from heard_local.adapters.url_policy import (
    DeadlineBackend,
    DeadlineExceeded,
    Resolver,
    UrlPolicy,
    check_url,
    checked_address,
    parse_target,
    system_resolver,
    timeouts_until,
)
from heard_local.config import Settings
from heard_local.domain.clock import utcnow
from heard_local.domain.webhook_signature import signed_headers
from heard_local.errors import TransientError, ValidationError
from heard_local.store import Store
from heard_local.store.webhooks import Delivery

log = logging.getLogger(__name__)

FIELD = "webhook URL"
_LEASE_MARGIN_SECONDS = 10.0


def check_webhook_urls(webhooks: Any, settings: Settings) -> None:
    """At save time: refuse webhook URLs the delivery-time policy would refuse without asking DNS (this
    machine, private or link-local addresses); host names are checked again at every delivery."""
    if webhooks is None:
        return
    policy = UrlPolicy.from_settings(settings)
    for name in ("success_url", "error_url"):
        url = getattr(webhooks, name, None)
        if url:
            try:
                check_url(url, policy, field=f"webhooks.{name}")
            except ValidationError as exc:
                exc.message += " (webhook URLs follow the same rules as audio_url, checked again at every delivery)"
                raise


class WebhookDeliverer:
    """A background service (``start``/``stop``) emptying the outbox with a few delivery threads."""

    def __init__(self, store: Store, settings: Settings, *, resolver: Resolver = system_resolver):
        self.store = store
        self.settings = settings
        self.policy = UrlPolicy.from_settings(settings)
        self.resolver = resolver
        self._ssl = ssl.create_default_context(cafile=certifi.where())
        self._stop = threading.Event()
        self._wakeup = threading.Event()
        self._threads: list[threading.Thread] = []

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
            self.store.webhooks.mark_failed(delivery, "the configuration was deleted, so there is no secret to "
                                            "sign with")
            return
        try:
            status = self._post(delivery, signed_headers(secret, delivery.delivery_id, delivery.body))
        except ValidationError as exc:  # refused by the URL policy, or not a URL: trying again cannot help
            log.error("webhook %s to %s refused: %s", delivery.delivery_id, delivery.url, exc.message)
            self.store.webhooks.mark_failed(delivery, exc.message)
            return
        except TransientError as exc:
            self._failed(delivery, exc.message)
            return
        if 200 <= status < 300:
            if self.store.webhooks.mark_delivered(delivery):
                log.info("webhook %s (%s) delivered to %s", delivery.delivery_id, delivery.event, delivery.url)
            return
        note = " (redirects are not followed)" if 300 <= status < 400 else ""
        self._failed(delivery, f"HTTP {status}{note}")

    def _post(self, delivery: Delivery, headers: dict[str, str]) -> int:
        """POST the delivery's body to its URL, checked by the URL policy, within the deadline; the status."""
        deadline = time.monotonic() + self.settings.webhook_timeout_seconds
        target = parse_target(delivery.url, field=FIELD)
        try:
            address = checked_address(target, self.policy, self.resolver, deadline, field=FIELD)
        except DeadlineExceeded:
            raise self._timed_out() from None
        pool = httpcore.ConnectionPool(ssl_context=self._ssl, network_backend=DeadlineBackend(address, deadline),
                                       max_connections=1, retries=0)
        request_headers = [(b"Host", target.host_header.encode("ascii")),
                           *((k.encode(), v.encode()) for k, v in headers.items())]
        try:
            with pool.stream("POST", target.url, headers=request_headers, content=delivery.body.encode(),
                             extensions={"timeout": timeouts_until(deadline)}) as response:
                return int(response.status)  # the answer's body is never read
        except httpcore.TimeoutException:
            raise self._timed_out() from None
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            if time.monotonic() >= deadline:  # the deadline's watchdog closed the socket
                raise self._timed_out() from None
            raise TransientError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
        finally:
            pool.close()

    def _timed_out(self) -> TransientError:
        return TransientError(f"no answer within {self.settings.webhook_timeout_seconds:g} s "
                              "(HEARD_WEBHOOK_TIMEOUT_SECONDS)")

    def _failed(self, delivery: Delivery, error: str) -> None:
        delay = self.retry_delay(delivery.attempts)
        when = utcnow() + timedelta(seconds=delay)
        if when - delivery.created_at > timedelta(seconds=self.settings.webhook_give_up_seconds):
            log.error("webhook %s to %s failed for good after %d attempts: %s", delivery.delivery_id,
                      delivery.url, delivery.attempts, error)
            self.store.webhooks.mark_failed(delivery, error)
            return
        log.warning("webhook %s to %s failed (attempt %d: %s); retrying in %.1fs", delivery.delivery_id,
                    delivery.url, delivery.attempts, error, delay)
        self.store.webhooks.retry_at(delivery, when, error)

    def retry_delay(self, attempts: int) -> float:
        """Exponential backoff with ±25 % jitter after ``attempts`` failed attempts."""
        base = min(self.settings.webhook_retry_max_seconds,
                   self.settings.webhook_retry_base_seconds * 2 ** max(0, attempts - 1))
        return max(0.0, base * random.uniform(0.75, 1.25))
