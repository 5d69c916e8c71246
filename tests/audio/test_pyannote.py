"""pyannote diarization through a random-weight pipeline directory loaded like a user's local model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from heard_local.adapters.audio_decode import PyAvDecoder, decode_audio
from heard_local.adapters.diarization import AutoDiarizer, build_diarizer
from heard_local.adapters.whisper import WhisperTranscriber
from heard_local.config import Settings
from heard_local.pipeline.audio import conversation_from_audio
from heard_local.pipeline.progress import ProgressHook, null_hook
from heard_local.pipeline.protocols import (
    AsrResult,
    DiarizationResult,
    DiarizeOptions,
    Diarizer,
    TranscribeOptions,
    Transcriber,
    Waveform,
)
from tests.support import speech


@pytest.fixture(scope="module")
def diarizer(tiny_pyannote_dir: Path) -> AutoDiarizer:
    return build_diarizer(Settings(diarization_model=str(tiny_pyannote_dir), _env_file=None))


def test_the_number_of_speakers_can_be_fixed(diarizer: AutoDiarizer, shared_data: type) -> None:
    waveform = decode_audio(shared_data("pyannote-audio", "sample.wav"))  # two people on the phone
    result = diarizer.diarize(waveform, DiarizeOptions(num_speakers=2), null_hook)
    assert result.method == "pyannote"
    assert len({t.speaker for t in result.turns}) == 2


def test_a_stereo_call_never_reaches_the_speaker_model(diarizer: AutoDiarizer,
                                                       stereo_call: speech.Conversation) -> None:
    result = diarizer.diarize(decode_audio(stereo_call.path), DiarizeOptions(), null_hook)
    assert result.method == "channels"


def test_an_unloadable_pipeline_means_the_built_in_diarizer_and_a_note(tmp_path: Path,
                                                                        mono_call: speech.Conversation) -> None:
    broken = tmp_path / "pipeline"
    broken.mkdir()
    (broken / "config.yaml").write_text("pipeline:\n  name: not.a.Pipeline\n")
    waveform = decode_audio(mono_call.path)
    for model in (str(broken), str(tmp_path / "missing")):
        auto = AutoDiarizer(model=model)
        result = auto.diarize(waveform, DiarizeOptions(), null_hook)
        assert result.method == "builtin" and result.turns
        assert "built-in diarizer" in result.warnings[0] and "community-1" in result.warnings[0]
        assert auto.load_error and auto.load_error in result.warnings[0]
        # the next recording gets the same answer without trying (and failing) to load again
        broken.joinpath("config.yaml").write_text("pipeline:\n  name: still.not.a.Pipeline\n")
        again = auto.diarize(waveform, DiarizeOptions(), null_hook)
        assert again.method == "builtin" and again.warnings == result.warnings
        # asked for pyannote only, it is one speaker, as before the built-in diarizer existed
        strict = AutoDiarizer(model=model, mode="pyannote").diarize(waveform, DiarizeOptions(), null_hook)
        assert strict.method == "single" and "one speaker" in strict.warnings[0]


class Timed:
    """Records when and on which thread a stage ran (instrumentation around the real adapters)."""

    def __init__(self, inner: Transcriber | Diarizer):
        self.inner = inner
        self.span: tuple[float, float, str] | None = None

    def _run(self, call: str, waveform: Waveform, options: object, hook: ProgressHook) -> object:
        start = time.monotonic()
        try:
            return getattr(self.inner, call)(waveform, options, hook)
        finally:
            self.span = (start, time.monotonic(), threading.current_thread().name)

    def transcribe(self, waveform: Waveform, options: TranscribeOptions, hook: ProgressHook) -> AsrResult:
        return self._run("transcribe", waveform, options, hook)  # type: ignore[return-value]

    def diarize(self, waveform: Waveform, options: DiarizeOptions, hook: ProgressHook) -> DiarizationResult:
        return self._run("diarize", waveform, options, hook)  # type: ignore[return-value]


def test_pyannote_runs_alongside_transcription_and_reports_progress(diarizer: AutoDiarizer,
                                                                    tiny_whisper_dir: Path,
                                                                    mono_call: speech.Conversation) -> None:
    transcriber = Timed(WhisperTranscriber(Settings(whisper_model=str(tiny_whisper_dir), _env_file=None)))
    timed_diarizer = Timed(diarizer)
    progress: list[tuple[str, float | None, float | None]] = []

    def hook(step: str, artifact: object = None, *, completed: float | None = None,
             total: float | None = None) -> None:
        progress.append((step, completed, total))

    result = conversation_from_audio(mono_call.path, decoder=PyAvDecoder(), transcriber=transcriber,
                                     diarizer=timed_diarizer, hook=hook)
    assert result.segments and result.warnings == []  # pyannote ran: no "one speaker" warning
    assert {s.speaker for s in result.segments} <= {f"SPEAKER_{i:02d}" for i in range(len(result.segments))}
    # both stages ran at the same time, on different threads
    assert transcriber.span is not None and timed_diarizer.span is not None
    (t_start, t_end, t_thread), (d_start, d_end, d_thread) = transcriber.span, timed_diarizer.span
    assert t_thread != d_thread
    assert d_start < t_end and t_start < d_end, "the two stages' run times overlap"
    # pyannote's own progress hook, mapped to ours under "diarize/"
    counted = {step for step, _, total in progress if total is not None}
    assert {"transcribe", "diarize/segmentation", "diarize/embeddings"} <= counted
    assert all(completed <= total for _, completed, total in progress if total is not None)


def test_the_engine_diarizer_takes_the_fast_path_and_gives_stock_pyannotes_turns(diarizer: AutoDiarizer,
                                                                                 tiny_pyannote_dir: Path,
                                                                                 shared_data: type) -> None:
    from heard_local.adapters.fast_diarization import last_path

    waveform = decode_audio(shared_data("pyannote-audio", "sample.wav"))
    options = DiarizeOptions(num_speakers=2)
    fast = diarizer.diarize(waveform, options, null_hook)
    assert last_path(diarizer.speaker_model().pipeline).startswith("fast:")  # type: ignore[attr-defined]

    stock_settings = Settings(diarization_model=str(tiny_pyannote_dir), diarization_backend="stock", _env_file=None)
    stock_diarizer = build_diarizer(stock_settings)
    stock = stock_diarizer.diarize(waveform, options, null_hook)
    assert last_path(stock_diarizer.speaker_model().pipeline).startswith("stock")  # type: ignore[attr-defined]
    assert len(stock.turns) > 1
    assert [(t.speaker, round(t.start, 3), round(t.end, 3)) for t in fast.turns] == \
        [(t.speaker, round(t.start, 3), round(t.end, 3)) for t in stock.turns]
