"""Which configuration and metadata a watch folder's files get.

A folder's optional ``folder.toml`` names the configuration (tag or id) and metadata defaults; without
one, a configuration whose tag equals the folder's name (case-insensitively) is used, else the default.
A rule is reused for a few seconds (a burst of files costs one lookup), so a configuration created after
its folder, or an edited folder.toml, applies to files dropped from then on.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from heard_local.domain import Configuration
from heard_local.errors import NotFoundError, ValidationError
from heard_local.watcher.layout import FOLDER_SETTINGS_FILE

_KEYS = ("configuration", "metadata")
RULE_TTL_SECONDS = 5.0


class ConfigurationResolver(Protocol):
    def resolve(self, configuration_id_or_tag: str | None) -> Configuration: ...


@dataclass(frozen=True)
class FolderRule:
    configuration: Configuration
    metadata: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # how the configuration was chosen, for logs and outcome files


def read_folder_settings(folder_dir: Path) -> dict[str, Any]:
    """The folder's ``folder.toml`` as a dict ({} when there is none); a clear error when it is broken."""
    path = folder_dir / FOLDER_SETTINGS_FILE
    where = f"{folder_dir.name}/{FOLDER_SETTINGS_FILE}"
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"{where} is not valid TOML ({exc}). Fix it, then move the file back from failed/.",
                              field=FOLDER_SETTINGS_FILE) from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ValidationError(f"{where} has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_KEYS)}.",
                              field=FOLDER_SETTINGS_FILE)
    if "configuration" in data and not isinstance(data["configuration"], str):
        raise ValidationError(f"{where}: configuration must be a tag or id in quotes.", field=FOLDER_SETTINGS_FILE)
    if "metadata" in data and not isinstance(data["metadata"], dict):
        raise ValidationError(f"{where}: metadata must be a table ([metadata] followed by key = value lines).",
                              field=FOLDER_SETTINGS_FILE)
    return data


def folder_rule(configurations: ConfigurationResolver, folder_dir: Path) -> FolderRule:
    folder = folder_dir.name
    settings = read_folder_settings(folder_dir)
    metadata: dict[str, Any] = {"source": f"watch:{folder}", **settings.get("metadata", {})}
    named = settings.get("configuration")
    if named:
        try:
            configuration = configurations.resolve(named)
        except NotFoundError:
            raise NotFoundError(
                f"{folder}/{FOLDER_SETTINGS_FILE} names configuration {named!r}, which does not exist. Create it "
                "or fix the file, then move the file back from failed/.", field="configuration") from None
        return FolderRule(configuration, metadata, f"named in {FOLDER_SETTINGS_FILE}")
    try:
        return FolderRule(configurations.resolve(folder), metadata, "tag matches the folder name")
    except NotFoundError:
        return FolderRule(configurations.resolve(None), metadata, "default (no configuration has this tag)")


class FolderRules:
    """``folder_rule`` with a short memory per folder; a changed folder.toml is re-read at once."""

    def __init__(self, configurations: ConfigurationResolver, ttl: float = RULE_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._configurations = configurations
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[Path, tuple[float, tuple[int, int] | None, FolderRule]] = {}

    def rule_for(self, folder_dir: Path) -> FolderRule:
        settings_file = _signature(folder_dir / FOLDER_SETTINGS_FILE)
        cached = self._cache.get(folder_dir)
        now = self._clock()
        if cached is not None and cached[0] > now and cached[1] == settings_file:
            return cached[2]
        rule = folder_rule(self._configurations, folder_dir)  # errors are not remembered: a fix applies at once
        self._cache[folder_dir] = (now + self._ttl, settings_file, rule)
        return rule


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns
