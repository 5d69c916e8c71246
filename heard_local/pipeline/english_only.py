"""Noticing non-English speech transcribed by an English-only Whisper model (``tiny.en``, ``small.en``…).

Such a model cannot detect a language: given German or Spanish it still writes English-looking words
("Hans Jacob Christoffels von Kremelshausen, the Abontoyolicious Impletes…"), so a language identifier
run on its output says "English" (py3langid did, on every clip measured). What gives it away is the
decoder's own doubt. A segment is doubtful when

- the model was unsure of it: its average token log-probability is below ``DOUBT_AVG_LOGPROB`` AND its
  words' mean probability is below ``DOUBT_WORD_PROBABILITY``, or
- it is a repetition loop (compression ratio above Whisper's own failure threshold, 2.4), which the
  model falls into on speech it cannot follow.

Measured segment by segment with the bundled tiny.en on the shared recordings (benchmarks/quality_asr.py
prints the resulting doubtful share per recording):
English segments (jfk, the phone call, six contact-centre calls per channel and mixed, two spontaneous
recordings) have an average log-probability of -0.06 to -0.35 and word probability above 0.73 when
they have five words or more, while German and Spanish speech lies at -0.55 to -1.27 and 0.37 to 0.64
(or loops). A recording is flagged when doubtful segments hold at least ``NON_ENGLISH_FRACTION`` of
its transcribed speech and at least ``MIN_DOUBTFUL_SECONDS``: German and Spanish readings 100%, the
English-then-German ``multilingual.mp3`` 49%, every English recording 0% — but for the mono mix of
the 5 s stereo call where both parties talk at once (garbled: 100%, yet under ``MIN_DOUBTFUL_SECONDS``;
heard-local transcribes that call per channel, 0%).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from heard_local.pipeline.protocols import AsrSegment

DOUBT_AVG_LOGPROB = -0.45
DOUBT_WORD_PROBABILITY = 0.7
# Whisper's own threshold for a failed (repetitive) decode.
LOOP_COMPRESSION_RATIO = 2.4
# Shorter segments ("Hello.", "Neither did I.") are too short to judge.
MIN_WORDS = 5
NON_ENGLISH_FRACTION = 0.3
MIN_DOUBTFUL_SECONDS = 5.0


@dataclass
class EnglishCheck:
    speech_seconds: float = 0.0
    doubtful_seconds: float = 0.0
    doubtful_spans: list[tuple[float, float]] = field(default_factory=list)

    @property
    def doubtful_fraction(self) -> float:
        return self.doubtful_seconds / self.speech_seconds if self.speech_seconds > 0 else 0.0

    @property
    def looks_non_english(self) -> bool:
        return self.doubtful_seconds >= MIN_DOUBTFUL_SECONDS and self.doubtful_fraction >= NON_ENGLISH_FRACTION


def is_doubtful(segment: AsrSegment) -> bool:
    if segment.compression_ratio > LOOP_COMPRESSION_RATIO:
        return True
    if len(segment.words) < MIN_WORDS:
        return False
    word_probability = sum(w.probability for w in segment.words) / len(segment.words)
    return segment.avg_logprob < DOUBT_AVG_LOGPROB and word_probability < DOUBT_WORD_PROBABILITY


def check_english(segments: list[AsrSegment]) -> EnglishCheck:
    check = EnglishCheck()
    for segment in segments:
        seconds = max(0.0, segment.end - segment.start)
        check.speech_seconds += seconds
        if is_doubtful(segment):
            check.doubtful_seconds += seconds
            check.doubtful_spans.append((segment.start, segment.end))
    return check


def non_english_warning(check: EnglishCheck, model: str) -> str | None:
    """What the user reads when the speech looks non-English (None when it does not)."""
    if not check.looks_non_english:
        return None
    spans = ", ".join(f"{start:.0f}–{end:.0f} s" for start, end in check.doubtful_spans[:3])
    more = f" and {len(check.doubtful_spans) - 3} more" if len(check.doubtful_spans) > 3 else ""
    return (f"This transcript is unreliable: the speech looks non-English, and the Whisper model {model!r} "
            f"understands English only (it was unsure of {check.doubtful_fraction:.0%} of the speech: "
            f"{spans}{more}). Set HEARD_WHISPER_MODEL to a multilingual model such as 'small' or 'large-v3' "
            "to transcribe other languages.")


def forced_language_warning(language: str, model: str) -> str:
    return (f"The language {language!r} was requested, but the Whisper model {model!r} understands English "
            "only, so this transcript is unreliable. Set HEARD_WHISPER_MODEL to a multilingual model such as "
            "'small' or 'large-v3' to transcribe other languages.")
