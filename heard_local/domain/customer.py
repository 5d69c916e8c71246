"""Customers recognised across conversations, and how their identifiers are normalised."""

from __future__ import annotations

import re
from datetime import datetime

import phonenumbers
from pydantic import BaseModel


class Customer(BaseModel):
    customer_id: str
    phones: list[str] = []
    emails: list[str] = []
    name: str | None = None
    created_at: datetime
    last_seen_at: datetime | None = None
    conversation_count: int = 0


def normalize_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip().lower()
    return email or None


def normalize_phone(phone: str | None, default_region: str = "US") -> str | None:
    """E.164 when the number parses (``(555) 010-0123`` → ``+15550100123``).

    A number that phonenumbers cannot make sense of (too short, a PBX extension) is still an
    identifier worth linking on, so it falls back to its digits (with ``+`` when it had one) rather
    than being rejected: an integration must never fail over an odd caller id.
    """
    if phone is None:
        return None
    raw = phone.strip()
    if not raw:
        return None
    try:
        parsed = phonenumbers.parse(raw, default_region)
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    return ("+" if raw.startswith("+") else "") + digits
