"""Speech recognition quality on real recordings with ground truth (../shared/data): word error rate and
real-time factor, through the same audio pipeline a job uses (decode, per-channel or mono transcription,
the guard against Whisper's failure modes, alignment).

Measured for the bundled tiny.en and, when ``HEARD_WHISPER_MODEL`` is set, for that model too. WER is
jiwer's, on text normalised the same way for reference and output (tests/support/reference_text.py).
Real-time factor = wall seconds / audio seconds (lower is faster); CPU seconds are given beside it
because wall time is noisy on a shared machine.

- jfk (11 s), the two-person phone call pyannote-audio/sample.wav (30 s, its .stm), two spontaneous
  recordings (mfa-spontaneous, disfluent, one with a cold);
- stereo calls, one party per channel: faster-whisper/stereo_diarization.wav (both talk at once) and
  six harper-valley-calls (L = agent, R = caller) — per party, all words, and the mono mix of the same
  call for comparison; for the six calls also the cost of both channels at once vs one after the other;
- non-English speech: whether the English-only warning fires on the German and Spanish LibriVox clips
  and the English-then-German multilingual.mp3, and on none of the English recordings.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.result import Result
from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.channels import ChannelLayoutAnalyser
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import BUNDLED_MODEL_NAME, WhisperTranscriber, bundled_model_dir
from heard_local.config import Settings
from heard_local.pipeline.audio import conversation_from_waveform
from heard_local.pipeline.english_only import check_english
from heard_local.pipeline.protocols import AsrResult, ConversationResult, DiarizeOptions, TranscribeOptions, Waveform
from tests.support.reference_text import WordErrors, read_stm, stm_text, word_errors

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HARPER = DATA / "harper-valley-calls"
NON_ENGLISH = ("librivox-multilingual/de.mp3", "librivox-multilingual/es.mp3", "faster-whisper/multilingual.mp3")


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Tap:
    """The real transcriber, keeping what it returned (the English check's numbers are read from it)."""

    def __init__(self, inner: WhisperTranscriber):
        self.inner = inner
        self.concurrent_calls = inner.concurrent_calls
        self.results: list[AsrResult] = []

    def transcribe(self, waveform: Waveform, options: TranscribeOptions, hook: Any) -> AsrResult:
        result = self.inner.transcribe(waveform, options, hook)
        self.results.append(result)
        return result


@dataclass
class Run:
    conversation: ConversationResult
    asr: list[AsrResult]
    wall: float
    cpu: float
    duration: float

    @property
    def rtf(self) -> float:
        return self.wall / self.duration

    def text(self, role: str | None = None) -> str:
        """All words in segment order, or those of the speaker with ``role`` (Agent / Customer)."""
        roles = self.conversation.speaker_roles
        return " ".join(s.text for s in self.conversation.segments if role is None or roles.get(s.speaker) == role)

    def speaker_texts(self) -> list[str]:
        speakers = dict.fromkeys(s.speaker for s in self.conversation.segments)
        return [" ".join(s.text for s in self.conversation.segments if s.speaker == sp) for sp in speakers]

    def non_english(self) -> bool:
        return any("looks non-English" in w for w in self.conversation.warnings)

    def doubtful_fraction(self) -> float:
        checks = [check_english(r.segments) for r in self.asr]
        speech = sum(c.speech_seconds for c in checks)
        return sum(c.doubtful_seconds for c in checks) / speech if speech else 0.0


def transcribe(transcriber: WhisperTranscriber, waveform: Waveform, *, mono: bool = False,
               options: DiarizeOptions | None = None) -> Run:
    tap = Tap(transcriber)
    source = Waveform(samples=waveform.mono[None, :], sample_rate=waveform.sample_rate) if mono else waveform
    wall, cpu = time.perf_counter(), process_cpu()
    conversation = conversation_from_waveform(source, transcriber=tap, diarizer=AutoDiarizer(None),
                                              channels=ChannelLayoutAnalyser(), diarize_options=options)
    return Run(conversation, tap.results, time.perf_counter() - wall, process_cpu() - cpu, waveform.duration)


@contextmanager
def sequential(transcriber: WhisperTranscriber) -> Iterator[None]:
    """Channels one after the other instead of both at once."""
    calls, transcriber.concurrent_calls = transcriber.concurrent_calls, 1
    try:
        yield
    finally:
        transcriber.concurrent_calls = calls


def best_pairing(references: list[str], hypotheses: list[str]) -> WordErrors:
    """Errors under the speaker mapping that minimises them (a missing speaker counts as all deleted)."""
    hypotheses = hypotheses + [""] * max(0, len(references) - len(hypotheses))
    return min((sum((word_errors(r, h) for r, h in zip(references, order, strict=False)), WordErrors(0, 0))
                for order in itertools.permutations(hypotheses, len(references))), key=lambda e: e.errors)


class Table:
    def __init__(self, label: str):
        self.label = label
        self.rows: list[Result] = []

    def add(self, metric: str, value: float, unit: str = "", *, target: str = "", met: bool | None = None,
            note: str = "") -> None:
        self.rows.append(Result(self.label, metric, value, unit, target, met, note))

    def wer(self, name: str, errors: WordErrors, run: Run, note: str = "") -> None:
        self.add(f"{name}: WER", errors.rate, "", note=f"{errors.errors}/{errors.reference_words} words {note}".strip())
        self.add(f"{name}: RTF", run.rtf, "x", note=f"{run.wall:.1f} s wall, {run.cpu:.1f} s CPU, "
                                                     f"{run.duration:.0f} s audio")


def single_speaker_recordings(quick: bool) -> list[tuple[str, Path, str]]:
    """(name, recording, reference text)."""
    expected = json.loads((DATA / "faster-whisper" / "expected_transcripts.json").read_text())
    recordings = [
        ("jfk", DATA / "faster-whisper" / "jfk.flac", expected["jfk.flac"]["sequential_word_timestamps"]),
        ("phone call sample.wav", DATA / "pyannote-audio" / "sample.wav",
         stm_text(read_stm(DATA / "pyannote-audio" / "sample.stm"))),
    ]
    if not quick:
        for name in ("acoustic_corpus", "cold_corpus"):
            recordings.append((f"mfa {name}", DATA / "mfa-spontaneous" / f"{name}.wav",
                               (DATA / "mfa-spontaneous" / f"{name}.txt").read_text()))
    return recordings


def measure_model(label: str, transcriber: WhisperTranscriber, quick: bool) -> list[Result]:
    table = Table(f"quality {label}")
    english: list[tuple[str, Run]] = []
    for name, path, reference in single_speaker_recordings(quick):
        run = transcribe(transcriber, decode_audio(path))
        table.wer(name, word_errors(reference, run.text()), run)
        english.append((name, run))

    # The stereo call of faster-whisper's tests: both parties talk at the same time.
    expected = json.loads((DATA / "faster-whisper" / "expected_transcripts.json").read_text())["stereo_diarization.wav"]
    refs = [expected["left_channel"], expected["right_channel"]]
    stereo = decode_audio(DATA / "faster-whisper" / "stereo_diarization.wav")
    per_channel, mono = transcribe(transcriber, stereo), transcribe(transcriber, stereo, mono=True)
    table.wer("stereo_diarization per channel, per speaker", best_pairing(refs, per_channel.speaker_texts()),
              per_channel, f"({len(per_channel.speaker_texts())} speakers)")
    table.wer("stereo_diarization mono mix", min((word_errors(" ".join(o), mono.text()) for o in (refs, refs[::-1])),
                                                 key=lambda e: e.errors), mono)
    english += [("stereo_diarization per channel", per_channel), ("stereo_diarization mono mix", mono)]
    english += harper_calls(table, transcriber, quick)

    for clip in NON_ENGLISH[:1] if quick else NON_ENGLISH:
        run = transcribe(transcriber, decode_audio(DATA / clip))
        table.add(f"{Path(clip).name}: non-English warning", float(run.non_english()), "", target="1",
                  met=run.non_english() if transcriber.choice.english_only else None,
                  note=f"doubtful speech {run.doubtful_fraction():.0%}")
    false_alarms = sum(run.non_english() for _, run in english)
    doubtful = ", ".join(f"{name} {run.doubtful_fraction():.0%}" for name, run in english if run.doubtful_fraction())
    table.add("English recordings with the non-English warning", float(false_alarms), "", target="0",
              met=false_alarms == 0, note=f"of {len(english)}; doubtful speech: {doubtful or 'none'}")
    return table.rows


def harper_calls(table: Table, transcriber: WhisperTranscriber, quick: bool) -> list[tuple[str, Run]]:
    """Six contact-centre calls: per channel (both at once, and one after the other) vs the mono mix."""
    calls = sorted(p.stem for p in (HARPER / "stereo").glob("*.flac"))[:1 if quick else None]
    totals = {"per channel": WordErrors(0, 0), "mono mix": WordErrors(0, 0), "agent": WordErrors(0, 0),
              "caller": WordErrors(0, 0)}
    cost = {"per channel, both at once": [0.0, 0.0], "per channel, one after the other": [0.0, 0.0],
            "mono mix": [0.0, 0.0]}
    runs: list[tuple[str, Run]] = []
    audio = 0.0
    roles = DiarizeOptions(agent_name="agent")  # the agent is on the left channel
    for call in calls:
        reference = read_stm(HARPER / "ref" / f"{call}.stm")
        waveform = decode_audio(HARPER / "stereo" / f"{call}.flac")
        per_channel = transcribe(transcriber, waveform, options=roles)
        with sequential(transcriber):
            one_by_one = transcribe(transcriber, waveform, options=roles)
        mono = transcribe(transcriber, decode_audio(HARPER / "mono" / f"{call}.flac"))
        errors = {"per channel": word_errors(stm_text(reference), per_channel.text()),
                  "mono mix": word_errors(stm_text(reference), mono.text()),
                  "agent": word_errors(stm_text(reference, "agent"), per_channel.text("Agent")),
                  "caller": word_errors(stm_text(reference, "caller"), per_channel.text("Customer"))}
        table.wer(f"harper {call} per channel", errors["per channel"], per_channel,
                  f"(agent {errors['agent'].rate:.3f}, caller {errors['caller'].rate:.3f})")
        table.wer(f"harper {call} mono mix", errors["mono mix"], mono)
        for key, value in errors.items():
            totals[key] += value
        for key, run in (("per channel, both at once", per_channel), ("per channel, one after the other", one_by_one),
                         ("mono mix", mono)):
            cost[key][0] += run.wall
            cost[key][1] += run.cpu
        audio += waveform.duration
        runs += [(f"harper {call} per channel", per_channel), (f"harper {call} mono mix", mono)]
    for key, pooled in totals.items():
        table.add(f"harper {len(calls)} calls pooled, {key}: WER", pooled.rate,
                  note=f"{pooled.errors}/{pooled.reference_words} words")
    mono_cpu = cost["mono mix"][1]
    for key, (wall, cpu) in cost.items():
        table.add(f"harper {len(calls)} calls, {key}: CPU", cpu, "s",
                  note=f"{cpu / mono_cpu:.2f}x the mono mix's CPU; wall {wall:.1f} s (RTF {wall / audio:.3f}) "
                       f"for {audio:.0f} s of audio")
    return runs


def models() -> list[tuple[str, WhisperTranscriber]]:
    """The bundled model, and the one HEARD_WHISPER_MODEL names (when set)."""
    bundled = bundled_model_dir()
    chosen: list[tuple[str, WhisperTranscriber]] = []
    if bundled is not None:
        chosen.append((f"{BUNDLED_MODEL_NAME} (bundled)", WhisperTranscriber(Settings(whisper_model=str(bundled),
                                                                                      _env_file=None))))
    configured = os.environ.get("HEARD_WHISPER_MODEL")
    if configured:
        chosen.append((configured, WhisperTranscriber(Settings(whisper_model=configured))))
    return chosen


def run(quick: bool) -> list[Result]:
    if not DATA.is_dir():
        return [Result("quality", "skipped", float("nan"), "", note=f"no ground truth at {DATA}")]
    results: list[Result] = []
    for label, transcriber in models():
        results += measure_model(label, transcriber, quick)
    return results
