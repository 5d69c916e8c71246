"""Where CLI commands get their data: the server owning the data directory, else an engine here."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from heard_local.config import Settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "watch_dir", "host", "port"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = Path(value).expanduser().resolve() if name.endswith("_dir") else value
    return Settings().with_overrides(**overrides)


@contextmanager
def open_client(settings: Settings, *, workers: bool = True) -> Iterator[Any]:
    """A client for the server owning the data directory, else an in-process engine."""
    from heard_local.client import HeardClient

    remote = HeardClient.for_data_dir(settings.data_dir)
    if remote is not None:
        try:
            yield remote
        finally:
            remote.close()
        return
    from heard_local.engine import Engine
    from heard_local.local_client import LocalClient

    local = LocalClient(Engine.open(settings, workers=workers))
    try:
        yield local
    finally:
        local.close()
