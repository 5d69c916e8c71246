"""Job payloads are typed; rows queued before they were still read (by their keys)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from heard_local.domain.job import (
    AudioFilePayload,
    AudioUrlPayload,
    ReprocessPayload,
    TranscriptPayload,
    parse_job_payload,
)


def test_each_kind_round_trips_through_its_stored_json() -> None:
    for payload in (TranscriptPayload(transcript_text="Agent: Hi"),
                    AudioFilePayload(media_path="/m/ab.wav", format="wav"),
                    AudioUrlPayload(audio_url="https://example.com/a.mp3"), ReprocessPayload()):
        assert parse_job_payload(payload.model_dump(mode="json")) == payload


def test_rows_written_before_payloads_were_typed_are_read_by_their_keys() -> None:
    old_metadata = {"metadata": {"name": "call", "language": "en"}}  # once stored here too; now ignored
    assert parse_job_payload({"transcript_text": "Agent: Hi", **old_metadata}) == TranscriptPayload(
        transcript_text="Agent: Hi")
    fetched = parse_job_payload({"audio_url": "https://example.com/a.mp3", "media_path": "/m/x.mp3",
                                 "format": "mp3", **old_metadata})
    assert fetched == AudioUrlPayload(audio_url="https://example.com/a.mp3", media_path="/m/x.mp3", format="mp3")
    assert parse_job_payload({"media_path": "/m/ab.wav", "format": "wav"}) == AudioFilePayload(
        media_path="/m/ab.wav", format="wav")
    assert parse_job_payload({}) == ReprocessPayload()


def test_a_payload_missing_its_input_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_job_payload({"source": "audio_file", "format": "wav"})
