"""API keys: shown once at creation, stored only as a hash."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel

KEY_PREFIX = "sk_local_"


def hash_key(key: str) -> str:
    """What is stored of a key, and what a presented key is compared by."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(BaseModel):
    key_id: str
    name: str
    prefix: str  # the first characters of the key, so a user can tell keys apart
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
