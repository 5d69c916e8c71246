"""Redaction (configuration ``redact`` / ``redact_audio``): what is found, that it is gone from the stored
text, from what the LLM is sent (the Ollama test server records it) and from the recording (a call
spoken by espeak-ng, transcribed by the real bundled Whisper model)."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from heard_local.api import create_app
from heard_local.domain import JobStatus, RedactKind
from heard_local.domain.job import AudioFilePayload
from heard_local.engine import Engine
from heard_local.pipeline.redaction_detect import find_spans, luhn_valid
from tests.support import speech
from tests.support.ollama_server import OllamaTestServer, user_text
from tests.support.real_calls import real_settings

ALL = list(RedactKind)
CARD_DIGITS = "4556 7375 8689 9855"
CARD_WORDS = "four five five six, seven three seven five, eight six eight nine, nine eight five five"


def found(text: str, kinds: list[RedactKind] = ALL, names: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(f.kind.value, text[f.start:f.end]) for f in find_spans(text, kinds, names=names)]


def test_cards_are_luhn_checked_whether_written_or_spoken() -> None:
    assert luhn_valid(CARD_DIGITS.replace(" ", "")) and not luhn_valid("4556737586899856")
    assert found(f"My card is {CARD_DIGITS}, expiring soon.") == [("card", CARD_DIGITS)]
    assert found(f"It is {CARD_WORDS}.") == [("card", CARD_WORDS)]
    assert found("It is 4, 5,5,6,7,3,7,5,8,6,8,9,9,8,5,5 okay") == [("card", "4, 5,5,6,7,3,7,5,8,6,8,9,9,8,5,5")]
    assert found("Double four one one, two two") == []  # a short number is no card
    assert found("Order 4556737586899856 shipped", [RedactKind.PHONE]) == []  # only the kinds asked for
    # Without a card word before it, a run failing the Luhn check is not a card; with one, a recogniser's
    # dropped digit does not let the number through.
    assert found("The reference is 4556 7375 8689 985", [RedactKind.CARD]) == []
    assert found("my card number is 4556 7375 8689 985", [RedactKind.CARD]) == [("card", "4556 7375 8689 985")]


def test_phones_emails_ssns_ibans_and_names() -> None:
    assert found("Call (415) 555-2671 or +44 20 7946 0958.") == [("phone", "(415) 555-2671"),
                                                                 ("phone", "+44 20 7946 0958")]
    assert found("It is four one five, five five five, two six seven one.") == [
        ("phone", "four one five, five five five, two six seven one")]
    assert found("Write to jo.lee+bank@example.co.uk or jordan at example dot com") == [
        ("email", "jo.lee+bank@example.co.uk"), ("email", "jordan at example dot com")]
    assert found("SSN 123-45-6789; my social security number is one two three four five six seven eight nine") == [
        ("ssn", "123-45-6789"), ("ssn", "one two three four five six seven eight nine")]
    assert found("IBAN GB82 WEST 1234 5698 7654 32 thanks, not GB82 WEST 1234 5698 7654 33") == [
        ("iban", "GB82 WEST 1234 5698 7654 32")]
    assert found("Hello Jordan, this is jordan lee's account", [RedactKind.PERSON], ("Jordan Lee",)) == [
        ("person", "Jordan"), ("person", "jordan lee")]
    assert found("I have 3 kids and 25 dollars, oh well") == []


CALL = (f"Agent: Thanks for calling, this is Sam.\nCustomer: Hi, my card number is {CARD_DIGITS}.\n"
        f"Agent: Could you read it again?\nCustomer: Sure, {CARD_WORDS}. Mail me at jordan@example.com.\n")


def test_a_redacted_transcript_is_stored_and_sent_to_the_llm_without_the_card(tmp_path: Path) -> None:
    with OllamaTestServer() as ollama:
        config = real_settings(tmp_path / "data", ollama_host=ollama.url)
        with Engine.open(config) as engine:
            configuration, _ = engine.configurations.create({
                "tag": "pci", "summary": True, "redact": ["card", "email", "person"],
                "extraction_fields": [{"name": "reason", "type": "string", "description": "Why they called"}]})
            submission = engine.ingest.transcript({"transcript_text": CALL,
                                                   "configuration_id": configuration.configuration_id,
                                                   "metadata": {"agent_name": "Sam"}})
            assert engine.jobs.wait(submission.job.job_id, timeout=60).status is JobStatus.COMPLETED
            tid = submission.job.transcription_id
            key = engine.keys.create("redaction")[1]
            with TestClient(create_app(engine)) as client:
                body = client.get(f"/api/v1/transcriptions/{tid}", headers={"X-API-Key": key}).json()
                spans = client.get(f"/api/v1/transcriptions/{tid}/redactions", headers={"X-API-Key": key}).json()
        prompts = "\n".join(user_text(r) for r in ollama.chat_requests)
    texts = [s["text"] for s in body["details"]["conversation"]["segments"]]
    assert texts[0] == "Thanks for calling, this is [PERSON]."
    assert texts[1] == "Hi, my card number is [CARD]."
    assert texts[3] == "Sure, [CARD]. Mail me at [EMAIL]."
    assert [(s["kind"], s["segment_index"]) for s in spans["redactions"]] == [
        ("person", 0), ("card", 1), ("card", 3), ("email", 3)]
    for span in spans["redactions"]:
        assert texts[span["segment_index"]][span["char_start"]:span["char_end"]] == f"[{span['kind'].upper()}]"
        assert span["start"] is None  # a text transcript has no times
    assert len(ollama.chat_requests) >= 2 and "[CARD]" in prompts
    for secret in ("4556", "7375", "four five five six", "nine eight five five", "jordan@", "Sam."):
        assert secret not in prompts and all(secret not in t for t in texts)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


@pytest.mark.skipif(not speech.have_tools(), reason="needs espeak-ng and sox")
def test_a_spoken_card_is_gone_from_the_text_the_llm_request_and_the_recording(tmp_path: Path) -> None:
    speech.VOICES.setdefault("slow", ("en-us+m3", 40, 120))  # the bundled tiny.en drops digits read fast
    call = speech.build_conversation(tmp_path / "call.wav", [
        ("A", "Thank you for calling the bank. How can I help?"),
        ("slow", f"My card number is {CARD_WORDS}."),
        ("A", "Thank you, I have blocked that card for you."),
    ], stereo=True)
    with OllamaTestServer() as ollama:
        with Engine.open(real_settings(tmp_path / "data", ollama_host=ollama.url)) as engine:
            configuration, _ = engine.configurations.create({"tag": "pci", "summary": True, "redact": ["card"],
                                                            "redact_audio": True})
            submission = engine.ingest.audio_file(call.path, configuration=configuration.configuration_id)
            assert engine.jobs.wait(submission.job.job_id, timeout=180).status is JobStatus.COMPLETED
            tid = submission.job.transcription_id
            transcription = engine.transcriptions.get(tid)
            spans = engine.corrections.redactions(tid)["redactions"]
            media = engine.transcriptions.media_path(tid)
            payload = submission.job.payload
            assert isinstance(payload, AudioFilePayload)
            original = Path(payload.media_path)
        prompts = "\n".join(user_text(r) for r in ollama.chat_requests)
    assert transcription.details is not None
    segments = transcription.details.conversation.segments
    text = " ".join(s.text for s in segments)
    assert "[CARD]" in text, text
    assert not re.search(r"\b(five|six|seven|eight|nine)\b.*\b(five|six|seven|eight|nine)\b", text), text
    assert not re.search(r"\d{3}", text), text
    assert "[CARD]" in prompts and "five five six" not in prompts and "4556" not in prompts
    words = [w.word for s in segments for w in s.words or []]
    assert " [CARD]" in words and not any(w.strip().rstrip(",.") in {"five", "six", "eight", "nine"} for w in words)

    assert media is not None and media.name.endswith(".redacted.wav") and media.is_file()
    assert not original.exists()  # the unredacted recording is gone
    with wave.open(str(media), "rb") as stored:
        rate = stored.getframerate()
        frames = np.frombuffer(stored.readframes(stored.getnframes()), dtype="<i2")
        audio = frames.reshape(-1, stored.getnchannels()).astype(np.float32) / 32768
    timed = [s for s in spans if s["kind"] == "card" and s["start"] is not None]
    assert timed, spans
    for span in timed:
        assert rms(audio[int(span["start"] * rate):int(span["end"] * rate)]) < 1e-4
    spoken = next(t for t in call.turns if "card number" in t.text)
    card_turn = audio[int(spoken.start * rate):int(spoken.end * rate)]
    silent = sum(s["end"] - s["start"] for s in timed)
    assert silent >= 0.5 * (spoken.end - spoken.start)  # most of the turn is the number
    assert rms(card_turn) < rms(audio[int(call.turns[0].start * rate):int(call.turns[0].end * rate)])
    first = call.turns[0]
    assert rms(audio[int(first.start * rate):int(first.end * rate)]) > 0.01  # the rest is still there
