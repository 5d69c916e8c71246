"""The English-only model's check for non-English speech (pure: decoder confidence per segment)."""

from __future__ import annotations

from heard_local.pipeline.english_only import check_english, is_doubtful, non_english_warning
from heard_local.pipeline.protocols import AsrSegment, Word


def segment(start: float, end: float, *, words: int = 8, probability: float = 0.9, avg_logprob: float = -0.2,
            compression_ratio: float = 1.4) -> AsrSegment:
    step = (end - start) / words
    return AsrSegment(start, end, " x" * words, [Word(start + i * step, start + (i + 1) * step, " x", probability)
                                                  for i in range(words)],
                      avg_logprob=avg_logprob, compression_ratio=compression_ratio)


def test_a_segment_is_doubtful_when_the_model_was_unsure_of_it_or_looped() -> None:
    assert not is_doubtful(segment(0, 5))  # confident English
    assert not is_doubtful(segment(0, 5, avg_logprob=-0.8))  # low log-probability alone: noisy English
    assert not is_doubtful(segment(0, 5, probability=0.5))  # unsure words alone
    assert is_doubtful(segment(0, 5, avg_logprob=-0.8, probability=0.5))
    assert is_doubtful(segment(0, 5, compression_ratio=17.5))  # "to the manual, to the manual, …"
    assert not is_doubtful(segment(0, 1, words=2, avg_logprob=-0.8, probability=0.5))  # too short to judge


def test_a_recording_is_flagged_when_enough_of_its_speech_is_doubtful() -> None:
    unsure = {"avg_logprob": -0.9, "probability": 0.45}
    german_reading = [segment(0, 28, **unsure), segment(28, 58, compression_ratio=24.9), segment(58, 64, **unsure)]
    check = check_english(german_reading)
    assert check.looks_non_english and check.doubtful_fraction == 1.0
    warning = non_english_warning(check, "tiny.en")
    assert warning is not None and "unreliable" in warning and "'tiny.en'" in warning
    assert "0–28 s" in warning and "HEARD_WHISPER_MODEL" in warning

    english_then_german = [segment(0, 29), segment(31, 59, **unsure)]
    assert check_english(english_then_german).looks_non_english

    one_mumbled_line = [segment(0, 60), segment(60, 64, **unsure), segment(64, 120)]
    assert not check_english(one_mumbled_line).looks_non_english
    assert non_english_warning(check_english(one_mumbled_line), "tiny.en") is None
    assert not check_english([segment(0, 4, **unsure)]).looks_non_english  # under 5 s: too little to tell
    assert not check_english([]).looks_non_english
