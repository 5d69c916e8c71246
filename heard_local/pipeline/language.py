"""Detecting the language of a text transcript (audio gets its language from Whisper)."""

from __future__ import annotations

from heard_local.domain.languages import LANGUAGE_CODES

_SAMPLE_CHARS = 20_000


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when there is too little text to tell."""
    sample = " ".join(text[:_SAMPLE_CHARS].split())
    if sum(ch.isalpha() for ch in sample) < 3:
        return None
    import py3langid  # lazy: loads its model (a few MB) on first use

    code, _score = py3langid.classify(sample)
    return code if code in LANGUAGE_CODES else None
