"""State kept per pipeline object, dropped when the pipeline is garbage-collected.

Keyed by identity: pyannote pipelines hash by their hyper-parameter values (which change on
``instantiate``), so they cannot be dictionary keys, weak or not.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerPipeline(Generic[T]):
    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Any], T]] = {}
        self._lock = threading.RLock()

    def get(self, pipeline: Any) -> T | None:
        with self._lock:
            entry = self._entries.get(id(pipeline))
            return entry[1] if entry is not None and entry[0]() is pipeline else None

    def set(self, pipeline: Any, value: T) -> None:
        with self._lock:
            key = id(pipeline)
            self._entries[key] = (weakref.ref(pipeline, lambda _ref: self._forget(key)), value)

    def get_or_create(self, pipeline: Any, create: Callable[[], T]) -> T:
        """The value for ``pipeline``, created (once, under the lock) on first use."""
        with self._lock:
            value = self.get(pipeline)
            if value is None:
                value = create()
                self.set(pipeline, value)
            return value

    def _forget(self, key: int) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0]() is None:
                del self._entries[key]
