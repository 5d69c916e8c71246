"""Identity resolution: every conversation of the same person links to one customer."""

from __future__ import annotations

import pytest

from heard_local.domain import normalize_email, normalize_phone
from heard_local.engine import Engine


def _ingest(engine: Engine, text: str, **metadata: str) -> str:
    submission = engine.ingest.transcript({"transcript_text": text, "metadata": metadata})
    engine.jobs.wait(submission.job.job_id, timeout=30)
    return submission.job.transcription_id


@pytest.mark.parametrize("raw, expected", [
    ("+1 (555) 010-0123", "+15550100123"),
    ("555.010.0123", "+15550100123"),
    ("(555) 010 0123", "+15550100123"),
    ("+44 20 7946 0958", "+442079460958"),
    ("+15550123", "+15550123"),  # the ingestion document's own example: too short for E.164, still linked
    ("   ", None),
])
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_email_normalisation() -> None:
    assert normalize_email("  Mike@ACME.com ") == "mike@acme.com"
    assert normalize_email("") is None


def test_three_conversations_with_differently_formatted_phones_link_to_one_customer(engine: Engine) -> None:
    first = _ingest(engine, "Agent: hello\nCustomer: my card is lost", caller_phone="+1 (555) 010-0123")
    second = _ingest(engine, "Agent: hi again\nCustomer: still lost", customer_phone="555.010.0123")
    third = _ingest(engine, "Agent: welcome back\nCustomer: found it", customer_phone="(555) 010 0123",
                    customer_name="Patricia Brown")
    customer_ids = {engine.transcriptions.get(t).customer_id for t in (first, second, third)}
    assert len(customer_ids) == 1
    customer = engine.customers.get(customer_ids.pop())
    assert customer.phones == ["+15550100123"]
    assert customer.conversation_count == 3
    assert customer.name == "Patricia Brown"
    conversations = engine.customers.conversations(customer.customer_id)
    assert {c["transcription_id"] for c in conversations.items} == {first, second, third}
    assert engine.customers.find(phone="+1 555 010 0123").customer_id == customer.customer_id


def test_emails_link_case_insensitively_and_different_people_stay_apart(engine: Engine) -> None:
    a = _ingest(engine, "Agent: a\nCustomer: one", customer_email="Mike@Acme.com")
    b = _ingest(engine, "Agent: b\nCustomer: two", customer_email="mike@acme.COM")
    c = _ingest(engine, "Agent: c\nCustomer: three", customer_email="jane@acme.com")
    ids = [engine.transcriptions.get(t).customer_id for t in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]
    assert engine.customers.list()[1] == 2


def test_a_conversation_with_phone_and_email_merges_two_known_customers(engine: Engine) -> None:
    by_phone = _ingest(engine, "Agent: a\nCustomer: phone only", customer_phone="+44 20 7946 0958")
    by_email = _ingest(engine, "Agent: b\nCustomer: email only", customer_email="sam@example.org")
    assert engine.transcriptions.get(by_phone).customer_id != engine.transcriptions.get(by_email).customer_id
    both = _ingest(engine, "Agent: c\nCustomer: both", customer_phone="+44 (0)20 7946 0958",
                   customer_email="SAM@example.org")
    ids = {engine.transcriptions.get(t).customer_id for t in (by_phone, by_email, both)}
    assert len(ids) == 1
    customer = engine.customers.get(ids.pop())
    assert "+442079460958" in customer.phones and customer.emails == ["sam@example.org"]
    customers, _ = engine.customers.list()
    assert len([c for c in customers if "sam@example.org" in c.emails]) == 1


def test_conversations_without_identifiers_have_no_customer(engine: Engine) -> None:
    transcription = _ingest(engine, "Agent: anonymous chat")
    assert engine.transcriptions.get(transcription).customer_id is None
    assert engine.customers.list()[1] == 0


def test_default_phone_region_is_a_setting(tmp_path) -> None:
    from heard_local.config import Settings

    settings = Settings(data_dir=tmp_path / "d", default_phone_region="GB")
    with Engine.open(settings) as engine:
        transcription = _ingest(engine, "Agent: hi", customer_phone="020 7946 0958")
        customer = engine.customers.get(engine.transcriptions.get(transcription).customer_id)
        assert customer.phones == ["+442079460958"]
