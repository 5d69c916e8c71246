"""The conversation stage: text or audio in, speaker-labelled segments out."""

from __future__ import annotations

from heard_local.pipeline.language import detect_language
from heard_local.pipeline.progress import ProgressHook, null_hook
from heard_local.pipeline.protocols import ConversationResult
from heard_local.pipeline.transcript_text import parse_transcript


def conversation_from_text(text: str, *, language: str | None = None,
                           hook: ProgressHook = null_hook) -> ConversationResult:
    """Parse a text transcript; detect its language unless one is given."""
    hook("parse", completed=0, total=1)
    parsed = parse_transcript(text)
    warnings = []
    if not parsed.segments:
        warnings.append("The transcript holds no text.")
    detected = language or detect_language(" ".join(s.text for s in parsed.segments))
    hook("parse", completed=1, total=1)
    return ConversationResult(
        segments=parsed.segments,
        language=detected,
        duration=parsed.duration,
        speaker_roles=parsed.roles,
        warnings=warnings,
    )
