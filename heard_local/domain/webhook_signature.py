"""Standard Webhooks signatures: ``webhook-signature: v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">``, keyed with the base64 part of a ``whsec_…`` secret.

Pure functions: the deliverer signs with them, and receivers written in Python can verify with
:func:`verify` (any Standard Webhooks library works too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from heard_local import __version__

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A ``whsec_`` secret: 32 random bytes in standard base64, as Standard Webhooks verifiers expect."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret: its base64 part (padding optional, as in the Standard
    Webhooks reference libraries)."""
    text = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for one delivery attempt."""
    mac = hmac.new(secret_key(secret), f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signed_headers(secret: str, message_id: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "user-agent": f"heard-local/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: str | bytes, *, tolerance_seconds: int = 300) -> bool:
    """Whether ``headers`` carry a valid signature of ``body`` made with ``secret`` within the time
    tolerance (for receivers written in Python; any Standard Webhooks library works too)."""
    lower = {k.lower(): v for k, v in headers.items()}
    message_id, stamp, signatures = (lower.get("webhook-id"), lower.get("webhook-timestamp"),
                                     lower.get("webhook-signature"))
    if not (message_id and stamp and signatures and stamp.isdigit()):
        return False
    if abs(time.time() - int(stamp)) > tolerance_seconds:
        return False
    text = body.decode() if isinstance(body, bytes) else body
    expected = sign(secret, message_id, int(stamp), text)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures.split(" "))
