"""Compiled models are kept per pipeline object and released with it (the engine unloads idle models)."""

from __future__ import annotations

import gc

from heard_local.adapters.fast_diarization.per_pipeline import PerPipeline


class _Pipeline:
    """Hashes by value like pyannote pipelines do, so identity must be what keys the cache."""

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Pipeline)


def test_values_are_per_object_and_dropped_with_it() -> None:
    cache: PerPipeline[list[str]] = PerPipeline()
    first, second = _Pipeline(), _Pipeline()
    built: list[str] = []
    value = cache.get_or_create(first, lambda: built.append("first") or ["compiled for first"])
    assert cache.get_or_create(first, lambda: built.append("again") or ["never"]) is value
    assert cache.get(second) is None
    cache.set(second, ["compiled for second"])
    assert cache.get(second) == ["compiled for second"]
    assert built == ["first"]

    del first
    gc.collect()
    assert len(cache._entries) == 1
    assert cache.get(second) == ["compiled for second"]
