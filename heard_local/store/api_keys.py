"""API keys, stored as SHA-256 hashes (the keys are 256-bit random, so a fast hash is enough)."""

from __future__ import annotations

import hmac
import secrets
import uuid
from typing import Any

from heard_local.domain.api_key import KEY_PREFIX, ApiKey, hash_key
from heard_local.domain.clock import from_db, to_db, utcnow
from heard_local.errors import AuthError, NotFoundError, ValidationError
from heard_local.store.database import Database

_PREFIX_CHARS = len(KEY_PREFIX) + 6
_COLUMNS = "key_id, name, prefix, created_at, revoked_at, last_used_at"
_TOUCH_EVERY_SECONDS = 60
_INVALID = "Invalid or revoked API key. Create one with: heard-local keys create --name NAME"


def _build(row: tuple[Any, ...]) -> ApiKey:
    key_id, name, prefix, created_at, revoked_at, last_used_at = row
    return ApiKey(key_id=key_id, name=name, prefix=prefix, created_at=from_db(created_at),
                  revoked_at=from_db(revoked_at), last_used_at=from_db(last_used_at))


class ApiKeyRepo:
    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str) -> tuple[ApiKey, str]:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationError("A key needs a name of 1 to 100 characters", field="name")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = str(uuid.uuid4())
        with self.db.write() as cur:
            cur.execute(f"INSERT INTO api_keys ({_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, NULL, NULL, ?)",
                        [key_id, name, key[:_PREFIX_CHARS], to_db(utcnow()), hash_key(key)])
        return self.get(key_id), key

    def get(self, key_id: str) -> ApiKey:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", [key_id])
        if row is None:
            raise NotFoundError(f"API key {key_id} not found", field="key_id")
        return _build(row)

    def list(self) -> list[ApiKey]:
        return [_build(r) for r in self.db.fetchall(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at")]

    def revoke(self, key_id_or_name: str) -> ApiKey:
        with self.db.write() as cur:
            rows = cur.execute("SELECT key_id FROM api_keys WHERE (key_id = ? OR name = ? OR prefix = ?) "
                               "AND revoked_at IS NULL", [key_id_or_name] * 3).fetchall()
            if not rows:
                raise NotFoundError(f"No active API key matches {key_id_or_name!r}", field="key_id")
            if len(rows) > 1:
                raise ValidationError(f"{len(rows)} keys match {key_id_or_name!r}; revoke by key id",
                                      field="key_id")
            cur.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [to_db(utcnow()), rows[0][0]])
        return self.get(rows[0][0])

    def authenticate(self, key: str | None) -> ApiKey:
        """The active key matching ``key``; AuthError (the same one) for a missing, wrong or revoked key."""
        if not key:
            raise AuthError(_INVALID)
        candidate = hash_key(key)
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS}, key_hash FROM api_keys WHERE prefix = ? AND revoked_at IS NULL",
            [key[:_PREFIX_CHARS]],
        )
        match = None
        for row in rows:
            if hmac.compare_digest(row[-1], candidate):
                match = _build(row[:-1])
        if match is None:
            # Compare against a dummy so a wrong prefix costs the same as a wrong key.
            hmac.compare_digest(candidate, hash_key("dummy"))
            raise AuthError(_INVALID)
        # "Last used" is for people deciding which keys to revoke: minute precision is plenty, and it
        # keeps a busy key from turning every request into a write.
        now = utcnow()
        if match.last_used_at is None or (now - match.last_used_at).total_seconds() > _TOUCH_EVERY_SECONDS:
            self.touch(match.key_id)
            match = match.model_copy(update={"last_used_at": now})
        return match

    def touch(self, key_id: str) -> None:
        with self.db.write() as cur:
            cur.execute("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?", [to_db(utcnow()), key_id])
