"""What a configuration's ``redact`` takes out of a transcript, and the record of each span taken out."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class RedactKind(StrEnum):
    CARD = "card"  # payment card numbers (Luhn-checked), digits or spoken digits
    PHONE = "phone"
    EMAIL = "email"
    SSN = "ssn"  # US social security numbers
    IBAN = "iban"
    PERSON = "person"  # the names given in the conversation's metadata (customer_name, agent_name)

    @property
    def tag(self) -> str:
        """What the span is replaced with in the stored text: [CARD], [PHONE]…"""
        return f"[{self.value.upper()}]"


class RedactedSpan(BaseModel):
    """One span taken out: its kind, the segment, the tag's offsets in the stored segment text, and (when
    the recogniser timed its words) the seconds of the recording it covered."""

    kind: RedactKind
    segment_index: int
    char_start: int
    char_end: int
    start: float | None = None
    end: float | None = None
