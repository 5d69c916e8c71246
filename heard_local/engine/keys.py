"""API keys: created and revoked by the local owner (CLI, UI, admin API), checked on every API call."""

from __future__ import annotations

import builtins
from collections.abc import Callable

from heard_local.domain import ApiKey
from heard_local.store.api_keys import ApiKeyRepo


class KeyService:
    def __init__(self, repo: ApiKeyRepo):
        self._repo = repo
        self._revoked_listeners: builtins.list[Callable[[str], None]] = []

    def create(self, name: str) -> tuple[ApiKey, str]:
        """The key's record and the key itself (shown once; only its hash is stored)."""
        return self._repo.create(name)

    def list(self) -> builtins.list[ApiKey]:
        return self._repo.list()

    def revoke(self, key_id_or_name: str) -> ApiKey:
        revoked = self._repo.revoke(key_id_or_name)
        for listener in builtins.list(self._revoked_listeners):
            listener(revoked.key_id)
        return revoked

    def on_revoked(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(key_id)`` after every revocation (front doors that cache verified keys drop them,
        whichever door revoked the key)."""
        self._revoked_listeners.append(listener)

    def authenticate(self, key: str | None) -> ApiKey:
        return self._repo.authenticate(key)
