"""The engine's private parts, for the few tests about them that no service can show: the queue's
claims and leases, the webhook outbox, the progress recorder's row writes, which model instance is
loaded, SQL fixtures, and a process that dies without closing anything. Everything else in the tests
goes through the engine's services, as the front doors do."""

from __future__ import annotations

from heard_local.engine import Engine
from heard_local.engine.lifecycle import Lifecycle
from heard_local.engine.models import ModelManager
from heard_local.store import Store


def store_of(engine: Engine) -> Store:
    return engine._store


def lifecycle_of(engine: Engine) -> Lifecycle:
    return engine._lifecycle


def models_of(engine: Engine) -> ModelManager:
    return engine._lifecycle.models


def die_without_closing(engine: Engine) -> None:
    """What a killed process leaves behind: the database closed, the lock free, the rows as they are."""
    engine._store.close()
    engine._lifecycle._lock.release()
