"""Alignment of timed words with speaker turns, on hand-built timings."""

from __future__ import annotations

from heard_local.pipeline.align import HARD_MAX_SECONDS, PAUSE_SECONDS, align, assign_speakers, words_of
from heard_local.pipeline.protocols import AsrSegment, SpeakerTurn, Word


def words(*spec: tuple[float, float, str]) -> list[Word]:
    return [Word(start, end, text) for start, end, text in spec]


def asr(*spec: tuple[float, float, str]) -> list[AsrSegment]:
    ws = words(*spec)
    return [AsrSegment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), ws)]


def test_each_word_goes_to_its_turn_and_speaker_changes_split_segments() -> None:
    result = align(
        asr((0.0, 0.4, " Hello"), (0.5, 0.9, " there."), (1.2, 1.5, " Hi,"), (1.6, 2.0, " how"), (2.1, 2.5, " are"),
            (2.6, 3.0, " you?"), (3.4, 3.8, " Fine.")),
        [SpeakerTurn(0.0, 1.0, "agent"), SpeakerTurn(1.1, 3.1, "caller"), SpeakerTurn(3.3, 4.0, "agent")],
    )
    assert [(s.speaker, s.text, s.start, s.end) for s in result.segments] == [
        ("SPEAKER_00", "Hello there.", 0.0, 0.9),
        ("SPEAKER_01", "Hi, how are you?", 1.2, 3.0),
        ("SPEAKER_00", "Fine.", 3.4, 3.8),
    ]
    assert result.labels == {"SPEAKER_00": "agent", "SPEAKER_01": "caller"}
    assert [w["word"] for w in result.words[1]] == [" Hi,", " how", " are", " you?"]


def test_a_word_across_a_turn_boundary_goes_to_the_turn_it_overlaps_most() -> None:
    turns = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.0, 4.0, "B")]
    assert assign_speakers(words((1.5, 2.4, " mostly-A")), turns) == ["A"]
    assert assign_speakers(words((1.8, 2.9, " mostly-B")), turns) == ["B"]
    result = align(asr((0.5, 1.0, " one"), (1.8, 2.9, " two"), (3.0, 3.5, " three")), turns)
    assert [(s.speaker, s.text) for s in result.segments] == [("SPEAKER_00", "one"), ("SPEAKER_01", "two three")]


def test_overlapping_turns_pick_the_larger_overlap_and_ties_the_earlier_turn() -> None:
    turns = [SpeakerTurn(0.0, 3.0, "long"), SpeakerTurn(1.0, 1.6, "interjection")]
    assert assign_speakers(words((1.0, 1.6, " yes")), turns) == ["long"]  # tie: 0.6 s each
    assert assign_speakers(words((1.05, 1.65, " no")), turns) == ["long"]  # 0.6 vs 0.55
    turns = [SpeakerTurn(0.0, 1.2, "first"), SpeakerTurn(1.0, 3.0, "second")]
    assert assign_speakers(words((1.0, 1.5, " both")), turns) == ["second"]  # 0.2 vs 0.5


def test_a_turn_with_no_words_leaves_no_speaker_and_numbering_skips_it() -> None:
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 2.0, "silent"), SpeakerTurn(2.0, 3.0, "C")]
    result = align(asr((0.1, 0.5, " first"), (2.2, 2.6, " last")), turns)
    assert [(s.speaker, s.text) for s in result.segments] == [("SPEAKER_00", "first"), ("SPEAKER_01", "last")]
    assert result.labels == {"SPEAKER_00": "A", "SPEAKER_01": "C"}


def test_a_word_in_a_gap_goes_to_the_nearest_turn() -> None:
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(5.0, 6.0, "B"), SpeakerTurn(0.5, 4.0, "long-A2")]
    assert assign_speakers(words((4.2, 4.4, " near-long")), turns) == ["long-A2"]
    assert assign_speakers(words((4.7, 4.9, " near-B")), turns) == ["B"]
    assert assign_speakers(words((7.0, 7.5, " after-all")), turns) == ["B"]
    assert assign_speakers(words((-0.5, -0.1, " before-all")), [SpeakerTurn(1.0, 2.0, "X")]) == ["X"]


def test_speakers_are_numbered_in_order_of_first_appearance_and_roles_follow() -> None:
    turns = [SpeakerTurn(0.0, 1.0, "channel_1"), SpeakerTurn(1.0, 2.0, "channel_0")]
    result = align(asr((0.2, 0.6, " customer"), (1.2, 1.6, " agent")), turns)
    assert [s.speaker for s in result.segments] == ["SPEAKER_00", "SPEAKER_01"]
    assert result.roles({"channel_0": "Agent", "channel_1": "Customer"}) == {
        "SPEAKER_00": "Customer", "SPEAKER_01": "Agent"}


def test_same_speaker_words_merge_across_whisper_segments_but_long_pauses_split() -> None:
    segments = [
        AsrSegment(0.0, 1.0, " One two.", words((0.0, 0.4, " One"), (0.5, 1.0, " two."))),
        AsrSegment(1.2, 2.0, " Three.", words((1.2, 2.0, " Three."))),
        AsrSegment(2.0 + PAUSE_SECONDS + 0.5, 5.0, " Later.", words((2.0 + PAUSE_SECONDS + 0.5, 5.0, " Later."))),
    ]
    result = align(segments, [SpeakerTurn(0.0, 6.0, "A")])
    assert [s.text for s in result.segments] == ["One two. Three.", "Later."]
    assert {s.speaker for s in result.segments} == {"SPEAKER_00"}


def test_a_monologue_is_cut_into_readable_segments() -> None:
    spec = [(i * 1.0, i * 1.0 + 0.8, f" w{i}{'.' if i % 10 == 9 else ''}") for i in range(150)]
    result = align(asr(*spec), [SpeakerTurn(0.0, 200.0, "A")])
    assert len(result.segments) > 2
    assert all(s.end - s.start <= HARD_MAX_SECONDS + 1.0 for s in result.segments)
    assert " ".join(s.text for s in result.segments).split() == [t.strip() for _, _, t in spec]


def test_segments_without_word_timings_count_as_one_word() -> None:
    segments = [AsrSegment(0.0, 2.0, " No words here.", []), AsrSegment(2.5, 3.0, "  ", [])]
    assert [w.text for w in words_of(segments)] == [" No words here."]
    result = align(segments, [SpeakerTurn(0.0, 1.5, "A"), SpeakerTurn(1.5, 3.0, "B")])
    assert [(s.speaker, s.text) for s in result.segments] == [("SPEAKER_00", "No words here.")]


def test_no_turns_at_all_means_one_speaker_and_no_words_means_no_segments() -> None:
    result = align(asr((0.0, 0.5, " alone")), [])
    assert [(s.speaker, s.text) for s in result.segments] == [("SPEAKER_00", "alone")]
    empty = align([], [SpeakerTurn(0.0, 1.0, "A")])
    assert empty.segments == [] and empty.words == []


def test_languages_without_spaces_join_without_spaces() -> None:
    result = align(asr((0.0, 0.3, "你好"), (0.3, 0.6, "世界")), [SpeakerTurn(0.0, 1.0, "A")])
    assert result.segments[0].text == "你好世界"


def test_many_words_and_turns_align_in_linear_time_shape() -> None:
    # 20,000 words over 2,000 alternating turns: each word must land in its own turn.
    turns = [SpeakerTurn(i * 1.0, i * 1.0 + 1.0, "A" if i % 2 == 0 else "B") for i in range(2000)]
    spec = [(i * 0.1 + 0.01, i * 0.1 + 0.09, f" w{i}") for i in range(20000)]
    labels = assign_speakers(words(*spec), turns)
    assert labels == ["A" if int(start) % 2 == 0 else "B" for start, _, _ in spec]
