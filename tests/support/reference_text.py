"""Ground-truth text of the shared recordings, and word error rates against it (tests and benchmarks).

Reference and hypothesis go through the same normalisation before jiwer counts errors: annotation tags
that are not words (``[noise]``, ``[laughter]``, ``<unk>``: see harper-valley-calls/SOURCE.txt) are
removed from the reference, then both are normalised with Whisper's own English normaliser (lower case,
no punctuation, numbers written one way — "a hundred and thirty four dollars" and "$134" both become
"$134" —, contractions expanded, hesitations like "uh"/"um" dropped), the standard for Whisper word error
rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# Tags in transcripts that mark non-speech or unknown words.
_TAGS = re.compile(r"\[[^\]]*\]|<[^>]*>")


@dataclass(frozen=True)
class StmSegment:
    """One line of a NIST STM file: ``file channel speaker start end text``."""

    file: str
    channel: str
    speaker: str
    start: float
    end: float
    text: str


def read_stm(path: Path) -> list[StmSegment]:
    """The segments of an STM file in time order (comment lines ``;;`` skipped)."""
    segments = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(";;"):
            continue
        file, channel, speaker, start, end, *words = line.split()
        segments.append(StmSegment(file, channel, speaker, float(start), float(end), " ".join(words)))
    return sorted(segments, key=lambda s: (s.start, s.end))


def stm_text(segments: list[StmSegment], speaker: str | None = None) -> str:
    """The words of the segments (of one speaker, when given) in time order, tags removed."""
    return " ".join(without_tags(s.text) for s in segments if speaker is None or s.speaker == speaker).strip()


def without_tags(text: str) -> str:
    return " ".join(_TAGS.sub(" ", text).split())


@cache
def _normaliser() -> Any:
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalise(text: str) -> str:
    return " ".join(_normaliser()(without_tags(text)).split())


@dataclass(frozen=True)
class WordErrors:
    errors: int  # substitutions + deletions + insertions
    reference_words: int

    @property
    def rate(self) -> float:
        return self.errors / self.reference_words if self.reference_words else float(self.errors > 0)

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.errors + other.errors, self.reference_words + other.reference_words)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Errors of ``hypothesis`` against ``reference``, both normalised the same way (pooled rates add
    these up over recordings rather than averaging rates)."""
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return WordErrors(len(hyp.split()), 0)
    if not hyp:
        return WordErrors(len(ref.split()), len(ref.split()))
    out = jiwer.process_words(ref, hyp)
    return WordErrors(out.substitutions + out.deletions + out.insertions, len(ref.split()))


def word_error_rate(reference: str, hypothesis: str) -> float:
    return word_errors(reference, hypothesis).rate
