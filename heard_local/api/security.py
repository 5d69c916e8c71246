"""``X-API-Key`` on every call. Keys are created locally and stored hashed; a missing, wrong and revoked
key all get the same AUTH_ERROR. The server's own admin token (written to the 0600 ``server.json`` in
the data directory) lets the local CLI work while the server owns the database."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import Request
from fastapi.security import APIKeyHeader

from heard_local.errors import AuthError
from heard_local.store.api_keys import hash_key

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="An API key from `heard-local keys create --name NAME`")
_ADMIN_MESSAGE = "This endpoint needs the server's admin token (the local heard-local CLI uses it)."


@dataclass(frozen=True)
class Caller:
    key_id: str
    name: str
    admin: bool = False


def authenticate(request: Request, key: str | None) -> Caller:
    state = request.app.state
    admin_token: str | None = getattr(state, "admin_token", None)
    if key and admin_token and hmac.compare_digest(hash_key(key), hash_key(admin_token)):
        return Caller(key_id="admin", name="local admin", admin=True)
    api_key = state.engine.authenticate(key)
    return Caller(key_id=api_key.key_id, name=api_key.name)


def require_admin(caller: Caller) -> None:
    if not caller.admin:
        raise AuthError(_ADMIN_MESSAGE)
