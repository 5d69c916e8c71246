"""Guarding against Whisper's known failure modes: text invented on silence and repetition loops.

Whisper, given silence or noise, sometimes writes plausible text ("Thank you.", "Subtitles by …") or
gets stuck repeating a phrase, especially when it conditions on its own previous output. These checks
run on any transcriber's output (pure functions, no model) and say what they removed, so a user sees a
warning rather than silently missing text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from heard_local.pipeline.protocols import AsrSegment, Word

# A segment Whisper itself thinks is probably not speech…
NO_SPEECH_PROBABILITY = 0.6
# …and is not confident about, is dropped.
LOW_AVG_LOGPROB = -0.7
# Phrases Whisper is known to produce on silence (from its subtitle-heavy training data).
_SILENCE_PHRASES = re.compile(
    r"^(thank you( (very much|so much|for watching))?|thanks for watching|please subscribe.*|"
    r"subtitles by.*|subtitled by.*|amara\.org.*|you|bye|\.+|♪+|music|applause)$"
)
# A run of at least this many identical consecutive segments is a loop, not speech.
REPEATED_SEGMENT_RUN = 3
# Within a segment: an n-gram (up to this many words) repeated this many times in a row.
MAX_LOOP_NGRAM = 8
LOOP_REPEATS = 4


@dataclass
class GuardResult:
    segments: list[AsrSegment]
    warnings: list[str] = field(default_factory=list)


def normalized(text: str) -> str:
    return re.sub(r"[^\w♪.]+", " ", text.lower()).strip()


def is_silence_hallucination(segment: AsrSegment) -> bool:
    if segment.no_speech_prob < NO_SPEECH_PROBABILITY:
        return False
    return segment.avg_logprob < LOW_AVG_LOGPROB or bool(_SILENCE_PHRASES.match(normalized(segment.text)))


def collapse_loops(words: list[Word]) -> tuple[list[Word], int]:
    """Keep one copy of any n-gram repeated ``LOOP_REPEATS`` or more times in a row; returns the kept
    words and how many were removed."""
    keys = [normalized(w.text) for w in words]
    kept: list[Word] = []
    kept_keys: list[str] = []
    removed = 0
    i = 0
    while i < len(words):
        loop = _loop_at(keys, i)
        if loop is not None:
            size, repeats = loop
            kept.extend(words[i:i + size])
            kept_keys.extend(keys[i:i + size])
            removed += size * (repeats - 1)
            i += size * repeats
            continue
        kept.append(words[i])
        kept_keys.append(keys[i])
        i += 1
    return kept, removed


def _loop_at(keys: list[str], start: int) -> tuple[int, int] | None:
    """(n-gram size, repeats) of a loop starting at ``start``, preferring the shortest n-gram."""
    for size in range(1, MAX_LOOP_NGRAM + 1):
        gram = keys[start:start + size]
        if len(gram) < size or not any(gram):
            return None
        repeats = 1
        while keys[start + repeats * size:start + (repeats + 1) * size] == gram:
            repeats += 1
        if repeats >= LOOP_REPEATS:
            return size, repeats
    return None


def guard_segments(segments: list[AsrSegment]) -> GuardResult:
    """Drop silence hallucinations and repeated-segment loops; collapse loops inside a segment."""
    silence: list[AsrSegment] = []
    kept: list[AsrSegment] = []
    for segment in segments:
        if is_silence_hallucination(segment):
            silence.append(segment)
        else:
            kept.append(segment)

    without_runs: list[AsrSegment] = []
    repeated: list[AsrSegment] = []
    run: list[AsrSegment] = []
    for segment in [*kept, None]:
        if segment is not None and run and normalized(segment.text) == normalized(run[0].text):
            run.append(segment)
            continue
        if len(run) >= REPEATED_SEGMENT_RUN and len(normalized(run[0].text).split()) >= 2:
            without_runs.append(run[0])
            repeated.extend(run[1:])
        else:
            without_runs.extend(run)
        run = [segment] if segment is not None else []

    cleaned: list[AsrSegment] = []
    loop_words = 0
    for segment in without_runs:
        if segment.words:
            words, removed = collapse_loops(segment.words)
            if removed:
                loop_words += removed
                segment = replace(segment, words=words, text="".join(w.text for w in words),
                                  end=words[-1].end)
        cleaned.append(segment)

    warnings = []
    if silence:
        warnings.append(f"Dropped {len(silence)} transcript segment(s) that Whisper marked as probably not "
                        f"speech ({_spans(silence)}).")
    if repeated:
        warnings.append(f"Dropped {len(repeated)} segment(s) repeating the previous one, a known Whisper loop "
                        f"({_spans(repeated)}).")
    if loop_words:
        warnings.append(f"Removed {loop_words} word(s) of repeated text inside segments (a Whisper loop).")
    return GuardResult(segments=cleaned, warnings=warnings)


def _spans(segments: list[AsrSegment], limit: int = 5) -> str:
    shown = ", ".join(f"{s.start:.1f}–{s.end:.1f} s" for s in segments[:limit])
    return shown + (f" and {len(segments) - limit} more" if len(segments) > limit else "")
