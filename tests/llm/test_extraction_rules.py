"""The pure rules of field extraction: schema, enumerations, coercion, evidence verification, merging."""

from __future__ import annotations

import pytest

from heard_local.domain import Evidence, ExtractionField, Segment
from heard_local.pipeline.evidence import TranscriptIndex
from heard_local.pipeline.extraction import (
    FieldAnswer,
    FieldSpec,
    coerce_value,
    extraction_schema,
    merge_chunk_answers,
    parse_choices,
    read_answer,
)
from heard_local.pipeline.structured import InvalidAnswer, parse_json_object


def spec(name: str, type_: str, description: str = "Something") -> FieldSpec:
    return FieldSpec.of(ExtractionField(name=name, type=type_, description=description))


@pytest.mark.parametrize(("description", "choices"), [
    ("Classify the overall sentiment of the conversation. Must be one of: POSITIVE, NEGATIVE, or NEUTRAL",
     ("POSITIVE", "NEGATIVE", "NEUTRAL")),
    ("Priority. Must be one of HIGH, MEDIUM, LOW. Use LOW when unsure.", ("HIGH", "MEDIUM", "LOW")),
    ("Category, one of: 'billing' | 'technical' | 'other'", ("billing", "technical", "other")),
    ("Possible values: yes; no; maybe (only if the customer hesitates)", ("yes", "no", "maybe")),
    ("The team. Must be one of the following teams: Sales, Customer Success or Support.",
     ("Sales", "Customer Success", "Support")),
    ("Products mentioned. Each must be one of: Basic, Pro, Enterprise", ("Basic", "Pro", "Enterprise")),
])
def test_an_enumeration_stated_in_the_description_is_found(description: str, choices: tuple[str, ...]) -> None:
    assert parse_choices(description) == choices


@pytest.mark.parametrize("description", [
    "The customer ID mentioned in the conversation",
    "The name of one of the products the customer liked",
    "Must be one of: ANYTHING",  # one value is not a choice
])
def test_descriptions_without_an_enumeration_have_none(description: str) -> None:
    assert parse_choices(description) is None


def test_the_schema_has_a_nullable_typed_value_and_evidence_for_every_field() -> None:
    specs = [
        spec("customer_id", "string", "The customer ID"),
        spec("sentiment", "string", "Must be one of: POSITIVE, NEGATIVE, or NEUTRAL"),
        spec("purchase_amount", "number"),
        spec("resolved", "boolean"),
        spec("products", "array", "Each must be one of: Basic, Pro"),
        spec("topics", "array"),
    ]
    schema = extraction_schema(specs)
    assert schema["required"] == [s.name for s in specs]
    properties = schema["properties"]
    assert properties["customer_id"]["properties"]["value"] == {"type": ["string", "null"]}
    assert properties["sentiment"]["properties"]["value"] == {
        "type": ["string", "null"], "enum": ["POSITIVE", "NEGATIVE", "NEUTRAL", None]}
    assert properties["purchase_amount"]["properties"]["value"] == {"type": ["number", "null"]}
    assert properties["resolved"]["properties"]["value"] == {"type": ["boolean", "null"]}
    assert properties["products"]["properties"]["value"] == {
        "type": ["array", "null"], "items": {"type": "string", "enum": ["Basic", "Pro"]}}
    assert properties["topics"]["properties"]["value"] == {"type": ["array", "null"], "items": {"type": "string"}}
    for entry in properties.values():
        # Evidence first: the model finds the words before it commits to a value.
        assert list(entry["properties"]) == ["evidence", "value"]
        assert entry["required"] == ["evidence", "value"]
        assert entry["properties"]["evidence"]["items"]["required"] == ["segment", "quote"]


@pytest.mark.parametrize(("type_", "description", "raw", "expected"), [
    ("string", "Customer ID", "CUST-12345", "CUST-12345"),
    ("string", "Customer ID", "  CUST   12345 ", "CUST 12345"),
    ("string", "Customer ID", 12345, "12345"),
    ("string", "Must be one of: POSITIVE, NEGATIVE, or NEUTRAL", "negative", "NEGATIVE"),
    ("string", "Must be one of: Very Positive, Neutral", "very_positive", "Very Positive"),
    ("number", "Amount", 15000, 15000),
    ("number", "Amount", 15000.0, 15000),
    ("number", "Amount", 4999.5, 4999.5),
    ("number", "Amount", "$15,000", 15000),
    ("number", "Amount", "12.5 %", 12.5),
    ("number", "Amount", 0, 0),
    ("boolean", "Resolved?", True, True),
    ("boolean", "Resolved?", False, False),
    ("boolean", "Resolved?", "yes", True),
    ("boolean", "Resolved?", "False", False),
    ("array", "Topics", ["billing", "refund", "billing"], ["billing", "refund"]),
    ("array", "Topics", "billing", ["billing"]),
    ("array", "Topics", [1, "two"], ["1", "two"]),
    ("array", "Each must be one of: Basic, Pro", ["pro", "BASIC"], ["Pro", "Basic"]),
])
def test_values_are_coerced_to_the_field_type(type_: str, description: str, raw: object, expected: object) -> None:
    value = coerce_value(spec("f", type_, description), raw)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("type_", "raw"), [
    ("string", None), ("string", ""), ("string", "N/A"), ("string", "not mentioned"), ("number", None),
    ("number", "unknown"), ("boolean", None), ("boolean", "null"), ("array", None), ("array", []),
    ("array", ["", "none"]),
])
def test_an_unanswered_field_is_null(type_: str, raw: object) -> None:
    assert coerce_value(spec("f", type_), raw) is None


@pytest.mark.parametrize(("type_", "description", "raw"), [
    ("number", "Amount", "lots"),
    ("number", "Amount", True),
    ("number", "Amount", [1, 2]),
    ("number", "Amount", {"amount": 1}),
    ("boolean", "Resolved?", "probably"),
    ("boolean", "Resolved?", 2.5),
    ("string", "Must be one of: POSITIVE, NEGATIVE, or NEUTRAL", "HAPPY"),
    ("string", "Customer ID", {"id": "x"}),
    ("array", "Each must be one of: Basic, Pro", ["Gold"]),
])
def test_a_value_of_the_wrong_type_is_invalid(type_: str, description: str, raw: object) -> None:
    with pytest.raises(InvalidAnswer):
        coerce_value(spec("f", type_, description), raw)


def test_an_answer_keeps_valid_fields_and_names_the_problems_of_the_others() -> None:
    specs = [spec("amount", "number"), spec("resolved", "boolean"), spec("customer_id", "string")]
    valid, problems = read_answer(specs, {
        "amount": {"evidence": [{"segment": 1, "quote": "fifteen"}], "value": "a lot"},
        "resolved": True,  # a bare value, without the evidence wrapper, is accepted
    })
    assert set(valid) == {"resolved"}
    assert valid["resolved"].value is True
    assert valid["resolved"].cited == []
    assert any("amount" in p and "a lot" in p for p in problems)
    assert any("customer_id" in p and "missing" in p for p in problems)


def test_json_answers_are_parsed_also_inside_a_code_fence_and_garbage_is_refused() -> None:
    assert parse_json_object('```json\n{"a": 1}\n```') == {"a": 1}
    for bad in ("", "not json", "[1, 2]", '{"a": '):
        with pytest.raises(InvalidAnswer):
            parse_json_object(bad)


SEGMENTS = [
    Segment(text="Hello, thanks for calling Acme support.", speaker="SPEAKER_00"),
    Segment(text="Hi! I'd like a refund for order A-123, it arrived   broken.", speaker="SPEAKER_01"),
    Segment(text="I'm sorry. The refund of $15,000 is approved, you'll get it by Friday.", speaker="SPEAKER_00"),
]
LABELS = {"SPEAKER_00": "Agent", "SPEAKER_01": "Customer"}


def test_a_quote_that_occurs_is_kept_in_the_transcript_s_own_wording() -> None:
    index = TranscriptIndex(SEGMENTS, LABELS)
    assert index.locate("I'd like a refund for order A-123", 1) == Evidence(
        quote="I'd like a refund for order A-123", segment_index=1)
    # Case, typographic apostrophes, punctuation and whitespace do not matter; the stored quote is verbatim.
    assert index.locate("i’d LIKE a refund for order a-123 it arrived broken", 1) == Evidence(
        quote="I'd like a refund for order A-123, it arrived   broken", segment_index=1)


def test_a_wrong_segment_number_is_corrected_and_a_speaker_prefix_ignored() -> None:
    index = TranscriptIndex(SEGMENTS, LABELS)
    assert index.locate("Agent: the refund of $15,000 is approved", 0) == Evidence(
        quote="The refund of $15,000 is approved", segment_index=2)
    assert index.locate("[2] Agent: you'll get it by Friday", None) == Evidence(
        quote="you'll get it by Friday", segment_index=2)


def test_an_elided_quote_must_match_every_part_in_order_in_one_segment() -> None:
    index = TranscriptIndex(SEGMENTS, LABELS)
    assert index.locate("The refund ... by Friday", 2) == Evidence(quote="The refund … by Friday", segment_index=2)
    assert index.locate("by Friday ... The refund", 2) is None
    assert index.locate("thanks for calling … order A-123", None) is None  # spans two segments


@pytest.mark.parametrize("quote", [
    "I want my money back",          # invented
    "refunded",                      # not a whole word of the transcript
    "the refund of $20,000",         # a different number
    "",
    "...",
])
def test_a_quote_that_does_not_occur_is_dropped(quote: str) -> None:
    index = TranscriptIndex(SEGMENTS, LABELS)
    assert index.locate(quote, 1) is None
    assert index.verify([(quote, 1), ("order A-123", 7)]) == [Evidence(quote="order A-123", segment_index=1)]


def test_chunk_answers_merge_lists_by_union_and_scalars_by_supported_agreement() -> None:
    specs = [spec("products", "array"), spec("amount", "number"), spec("customer_id", "string")]
    index = TranscriptIndex(SEGMENTS, LABELS)
    per_chunk = [
        {"products": FieldAnswer(["refund"], [("a refund", 1)]),
         "amount": FieldAnswer(999, [("invented words", 0)]),  # no verifiable evidence
         "customer_id": FieldAnswer(None)},
        {"products": FieldAnswer(["refund", "order"], [("order A-123", 1)]),
         "amount": FieldAnswer(15000, [("$15,000", 2)]),
         "customer_id": FieldAnswer(None)},
    ]
    merged = {f.name: f for f in merge_chunk_answers(specs, per_chunk, index).fields}
    assert merged["products"].value == ["refund", "order"]
    assert [e.segment_index for e in merged["products"].evidence] == [1, 1]
    assert merged["amount"].value == 15000
    assert merged["amount"].evidence == [Evidence(quote="$15,000", segment_index=2)]
    assert merged["customer_id"].value is None
    assert merged["customer_id"].evidence == []
