"""Transcript text -> speaker-labelled segments, for every shape users paste."""

from __future__ import annotations

import pytest

from heard_local.pipeline.conversation import conversation_from_text
from heard_local.pipeline.language import detect_language
from heard_local.pipeline.transcript_text import parse_timestamp, parse_transcript


def _triples(text: str) -> list[tuple[str, str, float | None]]:
    return [(s.speaker, s.text, s.start) for s in parse_transcript(text).segments]


def test_labelled_lines_become_speakers_in_order_of_appearance() -> None:
    parsed = parse_transcript("Agent: Hi, how can I help you today?\nCustomer: I have a billing question...\n"
                              "Agent: Sure.")
    assert [(s.speaker, s.text) for s in parsed.segments] == [
        ("SPEAKER_00", "Hi, how can I help you today?"),
        ("SPEAKER_01", "I have a billing question..."),
        ("SPEAKER_00", "Sure."),
    ]
    assert parsed.roles == {"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"}
    assert parsed.duration is None


def test_first_speaker_is_numbered_first_even_if_it_is_the_customer() -> None:
    parsed = parse_transcript("Customer: hello?\nAgent: hi")
    assert parsed.roles == {"SPEAKER_00": "Customer", "SPEAKER_01": "Agent"}


def test_labels_match_case_insensitively() -> None:
    assert [s for s, _, _ in _triples("AGENT: a\nagent: b\nAgent: c")] == ["SPEAKER_00"] * 3


def test_bracketed_timestamps_give_start_and_end() -> None:
    parsed = parse_transcript("[00:01:02] Agent: Hello\n[00:01:05] Customer: Hi there\n[00:01:09] Agent: Bye now")
    assert [(s.start, s.end) for s in parsed.segments] == [(62.0, 65.0), (65.0, 69.0), (69.0, 70.0)]
    assert parsed.has_timestamps
    assert parsed.duration == 70.0


@pytest.mark.parametrize("line, start", [
    ("[01:02] Agent: x", 62.0),
    ("(00:00:03.5) Agent: x", 3.5),
    ("00:00:04 Agent: x", 4.0),
    ("1:02:03 Agent: x", 3723.0),
    ("[00:00:07,250] Agent: x", 7.25),
    ("Agent (00:01:09): x", 69.0),
    ("[00:00:05] - Agent: x", 5.0),
])
def test_timestamp_shapes(line: str, start: float) -> None:
    segment = parse_transcript(line).segments[0]
    assert (segment.start, segment.text, parse_transcript(line).roles["SPEAKER_00"]) == (start, "x", "Agent")


def test_unlabelled_lines_continue_the_previous_turn() -> None:
    assert _triples("Agent: first line\nsecond line of the same turn\nCustomer: reply") == [
        ("SPEAKER_00", "first line second line of the same turn", None),
        ("SPEAKER_01", "reply", None),
    ]


def test_plain_text_is_one_speaker_split_by_paragraphs() -> None:
    parsed = parse_transcript("Just some notes.\nStill the same paragraph.\n\nA second paragraph.")
    assert [(s.speaker, s.text) for s in parsed.segments] == [
        ("SPEAKER_00", "Just some notes. Still the same paragraph."),
        ("SPEAKER_00", "A second paragraph."),
    ]
    assert parsed.roles == {}


def test_sentences_with_colons_are_not_mistaken_for_labels() -> None:
    text = "We said: the price, as agreed, is fine.\nVisit https://example.com: it helps.\nThe time is 10:30 sharp."
    parsed = parse_transcript(text)
    assert parsed.roles == {}
    assert parsed.segments[0].text.startswith("We said: the price")


def test_text_before_the_first_label_is_kept() -> None:
    assert _triples("Chat started\nAgent: hello\nCustomer: hi")[0] == ("SPEAKER_00", "Chat started", None)


def test_windows_newlines_bom_and_blank_lines() -> None:
    assert _triples("\ufeffAgent: a\r\n\r\nCustomer: b\r\n") == [("SPEAKER_00", "a", None), ("SPEAKER_01", "b", None)]


def test_webvtt_with_voice_tags() -> None:
    parsed = parse_transcript("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Alice>Hello there</v>\n\n"
                              "00:00:03.500 --> 00:00:05.000\n<v Bob>Hi Alice")
    assert [(s.speaker, s.text, s.start, s.end) for s in parsed.segments] == [
        ("SPEAKER_00", "Hello there", 1.0, 3.0), ("SPEAKER_01", "Hi Alice", 3.5, 5.0)]
    assert parsed.roles == {"SPEAKER_00": "Alice", "SPEAKER_01": "Bob"}


def test_srt_with_name_prefixes() -> None:
    parsed = parse_transcript("1\n00:00:01,000 --> 00:00:03,000\nAlice: Hello\n\n2\n00:00:03,000 --> 00:00:04,000\n"
                              "Bob: Hi")
    assert [(s.speaker, s.text, s.start) for s in parsed.segments] == [("SPEAKER_00", "Hello", 1.0),
                                                                       ("SPEAKER_01", "Hi", 3.0)]


def test_parse_timestamp() -> None:
    assert parse_timestamp("01:02:03.5") == 3723.5
    assert parse_timestamp("02:03") == 123.0


def test_language_is_detected_from_the_text() -> None:
    english = conversation_from_text("Agent: Hello, how can I help you today?\nCustomer: My card was declined twice.")
    german = conversation_from_text("Agent: Guten Tag, wie kann ich Ihnen helfen?\nKunde: Meine Karte wurde abgelehnt.")
    spanish = conversation_from_text("Agente: Hola, ¿en qué puedo ayudarle hoy?\nCliente: Mi tarjeta fue rechazada.")
    assert (english.language, german.language, spanish.language) == ("en", "de", "es")


def test_language_can_be_forced_and_is_none_for_no_words() -> None:
    assert conversation_from_text("Agent: hello there", language="fr").language == "fr"
    assert detect_language("12 34 !!") is None


def test_real_contact_centre_transcript(shared_data) -> None:
    """The Harper Valley bank call written as "[mm:ss.mmm] role: text" lines parses into its two parties
    with the recorded turn start times."""
    import json

    turns = json.loads(shared_data("harper-valley", "transcript", "0002f70f7386445b.json").read_text())
    lines = []
    for turn in turns:
        minutes, millis = divmod(turn["start_ms"], 60_000)
        lines.append(f"[{minutes:02d}:{millis / 1000:06.3f}] {turn['speaker_role']}: {turn['human_transcript']}")
    parsed = parse_transcript("\n".join(lines))
    assert parsed.roles == {"SPEAKER_00": "agent", "SPEAKER_01": "caller"}
    assert len(parsed.segments) == len(turns)
    assert [s.start for s in parsed.segments] == [t["start_ms"] / 1000 for t in turns]
    assert [s.speaker for s in parsed.segments] == [
        "SPEAKER_00" if t["speaker_role"] == "agent" else "SPEAKER_01" for t in turns]
    assert parsed.segments[0].text == "hello this is harper valley national bank"


def test_a_prefix_that_is_not_a_label_keeps_all_its_words() -> None:
    text = "Agent: hello\nWell, honestly: it broke.\nCustomer: ok"
    assert _triples(text)[0] == ("SPEAKER_00", "hello Well, honestly: it broke.", None)


def test_a_two_line_chat_between_named_people() -> None:
    assert _triples("Alice: hi\nBob: hey") == [("SPEAKER_00", "hi", None), ("SPEAKER_01", "hey", None)]


def test_a_one_off_speaker_is_kept_beside_recurring_ones() -> None:
    text = "Agent: Guten Tag\nKunde: Meine Karte ist weg\nAgent: Ich sperre sie\nSupervisor Kim: Approved."
    parsed = parse_transcript(text)
    assert parsed.roles == {"SPEAKER_00": "Agent", "SPEAKER_01": "Kunde", "SPEAKER_02": "Supervisor Kim"}


def test_any_label_after_a_timestamp_is_a_speaker() -> None:
    parsed = parse_transcript("[00:00:01] Operator: hello\n[00:00:03] caller two: hi")
    assert parsed.roles == {"SPEAKER_00": "Operator", "SPEAKER_01": "caller two"}
