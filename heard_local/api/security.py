"""``X-API-Key`` on every call. Keys are created locally and stored hashed; a missing, wrong and revoked
key all get the same AUTH_ERROR. The server's own admin token (written to the 0600 ``server.json`` in
the data directory) lets the local CLI work while the server owns the database.

Each key is rate limited (a token bucket per key, 429 with Retry-After); the admin token is not, as it
never leaves this machine's owner. A verified key is remembered for ``auth_cache_seconds`` so busy
clients do not cost a database query per call; revoking through the API forgets it at once, other
revocations (the UI in this process) take effect within that time."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.security import APIKeyHeader

from heard_local.domain.api_key import hash_key
from heard_local.errors import AuthError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="An API key from `heard-local keys create --name NAME`")
_ADMIN_MESSAGE = "This endpoint needs the server's admin token (the local heard-local CLI uses it)."


@dataclass(frozen=True)
class Caller:
    key_id: str
    name: str
    admin: bool = False


class KeyCache:
    """Keys verified in the last ``ttl`` seconds, by hash. Only successes are kept, so a new key works
    at once and a wrong one is always checked against the database."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[Caller, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> Caller | None:
        with self._lock:
            entry = self._entries.get(key_hash)
        if entry is None or entry[1] < self._clock():
            return None
        return entry[0]

    def put(self, key_hash: str, caller: Caller) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:  # only ever a handful of keys; stay bounded regardless
                self._entries.clear()
            self._entries[key_hash] = (caller, self._clock() + self.ttl)

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._entries = {h: e for h, e in self._entries.items() if e[0].key_id != key_id}


def known_caller(request: Request, key: str | None) -> Caller | None:
    """The caller when no database is needed (the admin token, or a recently verified key), rate
    limit applied; None when the key must be checked against the database."""
    if not key:
        return None
    state = request.app.state
    key_hash = hash_key(key)
    admin_token: str | None = getattr(state, "admin_token", None)
    if admin_token and hmac.compare_digest(key_hash, hash_key(admin_token)):
        return Caller(key_id="admin", name="local admin", admin=True)
    caller: Caller | None = state.key_cache.get(key_hash)
    if caller is not None:
        state.rate_limiter.check(caller.key_id)
    return caller


def authenticate(request: Request, key: str | None) -> Caller:
    """The caller behind ``key`` (AuthError for a missing, wrong or revoked one), rate limit applied."""
    caller = known_caller(request, key)
    if caller is not None:
        return caller
    state = request.app.state
    api_key = state.engine.keys.authenticate(key)
    caller = Caller(key_id=api_key.key_id, name=api_key.name)
    state.key_cache.put(hash_key(key or ""), caller)
    state.rate_limiter.check(caller.key_id)
    return caller


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise AuthError(_ADMIN_MESSAGE)
