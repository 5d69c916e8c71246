"""Loading models once, sharing them across jobs, and unloading them when idle.

Each model sits behind a :class:`ManagedModel`: the first job that needs it loads it (adapters import
their heavy library only then), later jobs reuse it, and the idle sweeper frees it after
``model_idle_unload_seconds`` without use. Factories live here so the engine is the only place that
knows which adapter implements which stage.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from heard_local.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class ManagedModel(Generic[T]):
    def __init__(self, name: str, factory: Callable[[], T], *, idle_seconds: float,
                 described: dict[str, Any] | None = None):
        self.name = name
        self._factory = factory
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._instance: T | None = None
        self._last_used = 0.0
        self._users = 0
        self.load_error: str | None = None
        # What the loaded instance said about itself (its ``status()``), kept after an idle unload.
        self.described: dict[str, Any] = dict(described or {})

    def get(self) -> T:
        with self._lock:
            if self._instance is None:
                started = time.monotonic()
                try:
                    self._instance = self._factory()
                except Exception as exc:
                    self.load_error = str(exc)
                    raise
                self.load_error = None
                describe = getattr(self._instance, "status", None)
                if callable(describe):
                    self.described = describe()
                log.info("loaded %s in %.1fs", self.name, time.monotonic() - started)
            self._last_used = time.monotonic()
            return self._instance

    def acquire(self) -> T:
        """Like :meth:`get`, and keeps the model loaded until :meth:`release`."""
        instance = self.get()
        with self._lock:
            self._users += 1
        return instance

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            self._last_used = time.monotonic()

    @property
    def loaded(self) -> bool:
        return self._instance is not None

    def status(self) -> dict[str, Any]:
        """Loaded or not, the last load error, and what the model said about itself when it loaded (the
        Whisper model: which one is really in use, configured or the bundled fallback, and why)."""
        return {"loaded": self.loaded, "error": self.load_error, **self.described}

    def unload_if_idle(self, now: float | None = None) -> bool:
        with self._lock:
            now = time.monotonic() if now is None else now
            if self._instance is None or self._users or now - self._last_used < self._idle_seconds:
                return False
            instance, self._instance = self._instance, None
        close = getattr(instance, "close", None)
        if callable(close):
            close()
        del instance
        gc.collect()
        log.info("unloaded idle model %s", self.name)
        return True

    def peek(self) -> T | None:
        return self._instance


def _transcriber_factory(settings: Settings) -> Callable[[], Any]:
    def build() -> Any:
        from heard_local.adapters.whisper import WhisperTranscriber

        return WhisperTranscriber(settings)

    return build


def _diarizer_factory(settings: Settings) -> Callable[[], Any]:
    def build() -> Any:
        from heard_local.adapters.diarization import build_diarizer

        return build_diarizer(settings)

    return build


def _llm_factory(settings: Settings) -> Callable[[], Any]:
    def build() -> Any:
        from heard_local.adapters.ollama import OllamaLlm

        return OllamaLlm(settings)

    return build


class ModelManager:
    """The speech and language models of one engine."""

    def __init__(self, settings: Settings):
        idle = settings.model_idle_unload_seconds
        self.settings = settings
        self.transcriber: ManagedModel[Any] = ManagedModel(
            "whisper", _transcriber_factory(settings), idle_seconds=idle,
            # until it loads, which model is used is not known: the default may fall back to the bundled one
            described={"configured": settings.whisper_model, "in_use": None})
        self.diarizer: ManagedModel[Any] = ManagedModel("diarization", _diarizer_factory(settings),
                                                        idle_seconds=idle)
        self.llm: ManagedModel[Any] = ManagedModel("ollama", _llm_factory(settings), idle_seconds=float("inf"))

    def whisper_in_use(self) -> str:
        """The Whisper model transcribing (the bundled one after a fallback); the configured one until the
        first load says otherwise."""
        return str(self.transcriber.described.get("in_use") or self.settings.whisper_model)

    def all(self) -> list[ManagedModel[Any]]:
        return [self.transcriber, self.diarizer, self.llm]

    def unload_idle(self) -> None:
        for model in self.all():
            model.unload_if_idle()

    def close(self) -> None:
        for model in self.all():
            model.unload_if_idle(now=float("inf"))
