"""Every limit of the contract, through the engine (the same rules every front door gets)."""

from __future__ import annotations

import pytest

from heard_local.domain import MAX_CONFIGURATIONS, ConfigurationInput, Transcription
from heard_local.engine import Engine
from heard_local.errors import ConflictError, NotFoundError, ValidationError
from tests.support.engine_internals import store_of


def _fields(n: int) -> list[dict]:
    return [{"name": f"field_{i}", "type": "string", "description": f"Field number {i}"} for i in range(n)]


def test_twenty_configurations_fit_and_the_21st_conflicts(engine: Engine) -> None:
    for i in range(MAX_CONFIGURATIONS):
        engine.configurations.create({"tag": f"Config {i}"})
    with pytest.raises(ConflictError) as caught:
        engine.configurations.create({"tag": "One too many"})
    assert caught.value.code == "CONFLICT"
    assert caught.value.http_status == 409
    user_tags = [c.tag for c in engine.configurations.list() if not c.is_default]
    assert len(user_tags) == MAX_CONFIGURATIONS
    assert "One too many" not in user_tags


def test_deleting_a_configuration_frees_a_slot(engine: Engine) -> None:
    created = [engine.configurations.create({"tag": f"C{i}"})[0] for i in range(MAX_CONFIGURATIONS)]
    engine.configurations.delete(created[0].configuration_id)
    replacement, _secret = engine.configurations.create({"tag": "Replacement"})
    assert replacement.tag == "Replacement"


def test_twenty_extraction_fields_fit_and_21_are_refused(engine: Engine) -> None:
    configuration, _ = engine.configurations.create({"tag": "Twenty", "extraction_fields": _fields(20)})
    assert len(configuration.extraction_fields) == 20
    with pytest.raises(ValidationError) as caught:
        engine.configurations.create({"tag": "Twenty-one", "extraction_fields": _fields(21)})
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.details["field"] == "extraction_fields"
    assert store_of(engine).configurations.find_by_tag("Twenty-one") is None


def test_updating_to_21_fields_is_refused_and_keeps_the_stored_configuration(engine: Engine) -> None:
    configuration, _ = engine.configurations.create({"tag": "Keep", "extraction_fields": _fields(3)})
    with pytest.raises(ValidationError):
        engine.configurations.update(configuration.configuration_id, {"extraction_fields": _fields(21)})
    assert len(engine.configurations.get(configuration.configuration_id).extraction_fields) == 3


@pytest.mark.parametrize("field", ["summary_language", "analytics_language"])
@pytest.mark.parametrize("language", ["english", "xx", "EN", ""])
def test_bad_language_is_a_validation_error(engine: Engine, field: str, language: str) -> None:
    with pytest.raises(ValidationError) as caught:
        engine.configurations.create({"tag": "Lang", field: language})
    assert caught.value.details["field"] == field


@pytest.mark.parametrize("language", ["df", "en", "de", "af", "gu", "zh"])
def test_documented_languages_and_df_are_accepted(engine: Engine, language: str) -> None:
    configuration, _ = engine.configurations.create({"tag": f"Lang {language}", "summary_language": language,
                                                    "analytics_language": language})
    assert configuration.summary_language == language


def test_tag_length_limit(engine: Engine) -> None:
    engine.configurations.create({"tag": "t" * 255})
    with pytest.raises(ValidationError) as caught:
        engine.configurations.create({"tag": "t" * 256})
    assert caught.value.details["field"] == "tag"
    with pytest.raises(ValidationError):
        engine.configurations.create({"tag": "   "})


@pytest.mark.parametrize("bad_field", [
    {"name": "x", "type": "date", "description": "not a type we support"},
    {"name": "x", "type": "string"},
    {"name": "x", "type": "string", "description": ""},
    {"name": "has space", "type": "string", "description": "bad name"},
    {"name": "x", "type": "string", "description": "d", "extra": 1},
])
def test_extraction_field_shape(engine: Engine, bad_field: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        engine.configurations.create({"tag": "Fields", "extraction_fields": [bad_field]})
    assert caught.value.details["field"].startswith("extraction_fields.0")


def test_duplicate_field_names_are_refused(engine: Engine) -> None:
    fields = [{"name": "same", "type": "string", "description": "a"},
              {"name": "same", "type": "number", "description": "b"}]
    with pytest.raises(ValidationError, match="unique"):
        engine.configurations.create({"tag": "Dup", "extraction_fields": fields})


def test_all_four_field_types_round_trip(engine: Engine) -> None:
    fields = [{"name": t, "type": t, "description": f"a {t}"} for t in ("string", "number", "boolean", "array")]
    configuration, secret = engine.configurations.create({
        "tag": "Sales Call Analysis Q4", "vocabulary": ["blockchain", "NFT", "NFT", " "],
        "extraction_fields": fields, "webhooks": {"success_url": "https://example.com/ok"},
        "summary": True, "summary_language": "en", "analytics_language": "df",
    })
    assert secret.startswith("whsec_")
    stored = engine.configurations.get(configuration.configuration_id)
    assert [f.type.value for f in stored.extraction_fields] == ["string", "number", "boolean", "array"]
    assert stored.vocabulary == ["blockchain", "NFT"]
    data = stored.to_api()
    assert set(data) >= {"configuration_id", "client_id", "tag", "vocabulary", "extraction_fields", "webhooks",
                         "summary", "summary_language", "analytics_language", "created_at"}
    assert "webhook_secret" not in data


def test_webhook_urls_must_be_http(engine: Engine) -> None:
    with pytest.raises(ValidationError) as caught:
        engine.configurations.create({"tag": "Hooks", "webhooks": {"success_url": "ftp://example.com/x"}})
    assert caught.value.details["field"] == "webhooks.success_url"


def test_partial_update_changes_only_what_is_sent(engine: Engine) -> None:
    configuration, _ = engine.configurations.create({"tag": "Before", "summary": True, "vocabulary": ["a"]})
    updated = engine.configurations.update(configuration.configuration_id, {"tag": "After"})
    assert (updated.tag, updated.summary, updated.vocabulary) == ("After", True, ["a"])
    assert updated.updated_at is not None


def test_unknown_configuration_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.configurations.get("nope")
    with pytest.raises(NotFoundError):
        engine.ingest.transcript({"transcript_text": "Agent: hi", "configuration_id": "nope"})


def test_a_configuration_in_use_cannot_be_deleted(engine: Engine) -> None:
    configuration, _ = engine.configurations.create({"tag": "Used"})
    engine.ingest.transcript({"transcript_text": "Agent: hi", "configuration_id": configuration.configuration_id})
    with pytest.raises(ConflictError):
        engine.configurations.delete(configuration.configuration_id)


def test_the_default_configuration_cannot_be_deleted(engine: Engine) -> None:
    with pytest.raises(ConflictError):
        engine.configurations.delete(engine.configurations.default_id)


def test_transcript_ingest_validation(engine: Engine) -> None:
    with pytest.raises(ValidationError) as caught:
        engine.ingest.transcript({"transcript_text": "   "})
    assert caught.value.details["field"] == "transcript_text"
    with pytest.raises(ValidationError) as caught:
        engine.ingest.transcript({"transcript_text": "Agent: hi", "metadata": {"channel": "fax"}})
    assert caught.value.details["field"] == "metadata.channel"
    with pytest.raises(ValidationError) as caught:
        engine.ingest.transcript({"transcript_text": "Agent: hi", "metadata": {"customer_email": "not-an-email"}})
    assert caught.value.details["field"] == "metadata.customer_email"
    assert engine.transcriptions.list().total == 0


def test_completed_transcription_matches_the_documented_shape(engine: Engine) -> None:
    configuration, _ = engine.configurations.create({"tag": "Sales Call Analysis Q4"})
    submission = engine.ingest.transcript({
        "transcript_text": "Agent: Good morning, this is Sarah from sales.\nCustomer: Hi Sarah.",
        "configuration_id": configuration.configuration_id,
        "metadata": {"name": "client_call.txt"},
    })
    engine.jobs.wait(submission.job.job_id, timeout=30)
    engine.transcriptions.set_group(submission.job.transcription_id, "UNDER_REVIEW")
    data = engine.transcriptions.get(submission.job.transcription_id).to_api()
    documented = {"transcription_id", "status", "configuration_id", "configuration_tag", "name", "group", "duration",
                  "details"}
    assert documented <= set(data)
    assert "error" not in data
    assert data["status"] == "COMPLETED"
    assert data["configuration_tag"] == "Sales Call Analysis Q4"
    assert data["group"] == "UNDER_REVIEW"
    details = data["details"]
    assert {"language", "num_speakers", "created_at", "completed_at", "conversation"} <= set(details)
    assert details["num_speakers"] == 2
    assert details["conversation"]["segments"][0] == {
        "text": "Good morning, this is Sarah from sales.", "speaker": "SPEAKER_00", "start": None, "end": None}
    # The object validates back into the domain model unchanged.
    assert Transcription.model_validate(data).to_api() == data


def test_configuration_input_model_is_pure() -> None:
    """Limits live in the domain model itself (no engine needed)."""
    import pydantic

    with pytest.raises(pydantic.ValidationError):
        ConfigurationInput(tag="x" * 256)


def test_api_keys_are_hashed_revocable_and_record_their_last_use(engine: Engine) -> None:
    from heard_local.errors import AuthError

    api_key, secret = engine.keys.create("laptop")
    assert secret.startswith("sk_local_") and api_key.last_used_at is None
    stored = store_of(engine).db.fetchone("SELECT key_hash FROM api_keys WHERE key_id = ?", [api_key.key_id])[0]
    assert secret not in stored and len(stored) == 64
    assert engine.keys.authenticate(secret).key_id == api_key.key_id
    assert engine.keys.list()[0].last_used_at is not None
    engine.keys.revoke("laptop")
    expected = "Invalid or revoked API key. Create one with: heard-local keys create --name NAME"
    for wrong in (secret, None, "", "sk_local_wrong", secret + "x"):
        with pytest.raises(AuthError) as caught:
            engine.keys.authenticate(wrong)
        assert caught.value.message == expected
