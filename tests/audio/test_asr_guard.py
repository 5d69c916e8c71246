"""The guard against Whisper's hallucinations on silence and its repetition loops."""

from __future__ import annotations

from heard_local.pipeline.asr_guard import collapse_loops, guard_segments
from heard_local.pipeline.protocols import AsrSegment, Word


def segment(start: float, text: str, *, no_speech: float = 0.0, logprob: float = -0.2) -> AsrSegment:
    tokens = text.split()
    step = 0.3
    words = [Word(start + i * step, start + (i + 1) * step, " " + t) for i, t in enumerate(tokens)]
    return AsrSegment(start, start + step * len(tokens), " " + text, words, no_speech_prob=no_speech,
                      avg_logprob=logprob)


def test_confident_speech_passes_untouched() -> None:
    segments = [segment(0, "Hello, how can I help?"), segment(3, "I lost my card.", no_speech=0.7, logprob=-0.1)]
    result = guard_segments(segments)
    assert result.segments == segments
    assert result.warnings == []


def test_text_on_silence_is_dropped_with_a_warning() -> None:
    segments = [
        segment(0, "Hello there."),
        segment(10, "Thank you for watching!", no_speech=0.8, logprob=-0.3),  # the classic
        segment(20, "and then the", no_speech=0.65, logprob=-0.9),  # unsure and probably not speech
        segment(30, "Goodbye."),
    ]
    result = guard_segments(segments)
    assert [s.text for s in result.segments] == [" Hello there.", " Goodbye."]
    assert len(result.warnings) == 1
    assert "2 transcript segment(s)" in result.warnings[0] and "10.0–" in result.warnings[0]


def test_a_run_of_identical_segments_keeps_only_the_first() -> None:
    looped = [segment(float(i * 2), "I will check that for you.") for i in range(5)]
    result = guard_segments([segment(-2.0, "Let me see."), *looped, segment(12, "Done.")])
    assert [s.text for s in result.segments] == [" Let me see.", " I will check that for you.", " Done."]
    assert "4 segment(s) repeating" in result.warnings[0]


def test_short_real_repetitions_survive() -> None:
    segments = [segment(0, "Yes."), segment(1, "Yes."), segment(2, "Yes."), segment(3, "No, no.")]
    assert guard_segments(segments).segments == segments


def test_a_loop_inside_a_segment_is_collapsed() -> None:
    looped = segment(0, "so the " + "the end is near " * 6 + "okay")
    result = guard_segments([looped])
    assert result.segments[0].text == " so the the end is near okay"
    assert result.segments[0].end == result.segments[0].words[-1].end
    assert "Removed 20 word(s)" in result.warnings[0]


def test_collapse_loops_prefers_the_shortest_repeating_unit() -> None:
    words = [Word(i, i + 1, w) for i, w in enumerate([" la"] * 7 + [" end"])]
    kept, removed = collapse_loops(words)
    assert [w.text for w in kept] == [" la", " end"]
    assert removed == 6
    three = [Word(i, i + 1, w) for i, w in enumerate([" a", " a", " a", " b"])]
    assert collapse_loops(three) == (three, 0)  # three times is not a loop
