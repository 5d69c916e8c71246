"""Session-wide tiny models and spoken test conversations for the audio pipeline's tests.

Everything here is built once per test session (a d=64 Whisper in ~3 s, a random-weight pyannote
pipeline with the cheap x-vector embedding in ~10 s, a few espeak-ng conversations in ~1 s each).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from heard_local.config import Settings
from heard_local.engine import Engine
from tests.support import speech
from tests.support.tiny_whisper import DEFAULT_PHRASE, build_tiny_whisper

PHRASE_WORDS = DEFAULT_PHRASE.split()


def in_order_within(words: list[str], phrase: list[str]) -> bool:
    """Whether ``words`` is ``phrase`` with some words left out (order kept)."""
    remaining = iter(phrase)
    return all(word in remaining for word in words)


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def tiny_pyannote_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.tiny_pyannote import build_tiny_pyannote_pipeline

    return build_tiny_pyannote_pipeline(tmp_path_factory.mktemp("tiny-pyannote"), embedding="xvector")


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not speech.have_tools():
        pytest.skip("espeak-ng and sox are needed to speak test conversations")
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def stereo_call(speech_dir: Path) -> speech.Conversation:
    """A two-party call, one party per channel (agent left), as a contact centre records it."""
    return speech.build_conversation(speech_dir / "stereo_call.wav", stereo=True)


@pytest.fixture(scope="session")
def mono_call(speech_dir: Path) -> speech.Conversation:
    return speech.build_conversation(speech_dir / "mono_call.wav", stereo=False)


@pytest.fixture
def audio_settings(settings: Settings, tiny_whisper_dir: Path) -> Settings:
    """The suite's settings with the tiny Whisper model; diarization off unless a test turns it on."""
    return settings.model_copy(update={"whisper_model": str(tiny_whisper_dir), "diarization_model": None})


@pytest.fixture
def audio_engine(audio_settings: Settings) -> Iterator[Engine]:
    eng = Engine.open(audio_settings)
    try:
        yield eng
    finally:
        eng.close()
