"""Out of the box the default Whisper model falls back to the bundled real tiny.en, saying so on every
transcription and in the status; a model the user chose never falls back."""

from __future__ import annotations

import pytest

from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.channels import ChannelLayoutAnalyser
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import BUNDLED_MODEL_NAME, WhisperTranscriber
from heard_local.config import Settings
from heard_local.domain import TranscriptionStatus
from heard_local.engine import Engine
from heard_local.errors import ModelUnavailableError
from heard_local.pipeline.audio import conversation_from_waveform
from heard_local.pipeline.progress import null_hook
from heard_local.pipeline.protocols import TranscribeOptions


def notices(warnings: list[str]) -> list[str]:
    return [w for w in warnings if "bundled with heard-local" in w]


def test_the_default_model_falls_back_to_the_bundled_one(nothing_downloaded: None, shared_data: type) -> None:
    settings = Settings(_env_file=None)
    assert "whisper_model" not in settings.model_fields_set  # the default, not the user's choice
    whisper = WhisperTranscriber(settings)
    assert whisper.choice.bundled and whisper.choice.english_only
    assert (whisper.choice.configured, whisper.choice.in_use) == (settings.whisper_model, BUNDLED_MODEL_NAME)
    assert repr(settings.whisper_model) in (whisper.choice.fallback_reason or "")
    assert whisper.status()["in_use"] == BUNDLED_MODEL_NAME and whisper.status()["bundled"] is True

    # every transcription it makes says so, naming the model and how to get a better one
    jfk = decode_audio(shared_data("whisper.cpp", "jfk.wav"))
    for _ in range(2):
        result = whisper.transcribe(jfk, TranscribeOptions(), null_hook)
        assert "fellow Americans" in " ".join(s.text for s in result.segments)
        [notice] = notices(result.warnings)
        assert f"'{BUNDLED_MODEL_NAME}'" in notice and repr(settings.whisper_model) in notice
        assert "HEARD_WHISPER_MODEL" in notice and "internet" in notice
    # a call transcribed per channel says it once, not once per channel
    stereo = decode_audio(shared_data("faster-whisper", "stereo_diarization.wav"))
    conversation = conversation_from_waveform(stereo, transcriber=whisper, diarizer=AutoDiarizer(model=None),
                                              channels=ChannelLayoutAnalyser())
    assert conversation.num_speakers == 2 and len(notices(conversation.warnings)) == 1


def test_a_model_the_user_set_is_that_model_or_a_clear_error(nothing_downloaded: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEARD_WHISPER_MODEL", "small")
    from_env = Settings(_env_file=None)
    monkeypatch.delenv("HEARD_WHISPER_MODEL")
    for chosen in (from_env, Settings(_env_file=None).with_overrides(whisper_model="small"),
                   Settings(whisper_model="small", _env_file=None)):
        assert "whisper_model" in chosen.model_fields_set
        with pytest.raises(ModelUnavailableError) as raised:
            WhisperTranscriber(chosen)
        assert "'small' could not be loaded" in raised.value.message
        assert "HEARD_WHISPER_MODEL" in raised.value.message


def test_the_engine_status_says_which_model_is_really_in_use(nothing_downloaded: None, settings: Settings,
                                                             shared_data: type) -> None:
    with Engine.open(settings) as engine:
        before = engine.status()["models"]["whisper"]
        assert before == {"loaded": False, "error": None, "configured": settings.whisper_model, "in_use": None}
        submission = engine.ingest.audio_file(shared_data("whisper.cpp", "jfk.wav"))
        engine.jobs.wait(submission.job.job_id, timeout=120)
        transcription = engine.transcriptions.get(submission.job.transcription_id)
        after = engine.status()["models"]["whisper"]
    assert transcription.status is TranscriptionStatus.COMPLETED, transcription.error
    assert len(notices(transcription.details.warnings)) == 1
    assert after["loaded"] is True and after["error"] is None
    assert (after["configured"], after["in_use"], after["bundled"]) == (settings.whisper_model, BUNDLED_MODEL_NAME,
                                                                        True)
    assert "could not be loaded" in after["fallback_reason"]
