"""Voiceprints: one voice vector per speaker of an audio conversation, from that speaker's own speech.

Whichever diarizer told the speakers apart (or the channels of a stereo call), each speaker's words say
when they spoke. Time when anyone else is also speaking is cut out (a mixed voice matches nobody), the
rest is concatenated up to :data:`MAX_SPEECH_SECONDS` and handed to the speaker encoder. On a recording
transcribed channel by channel a speaker's samples come from their own channel.

Pure numpy over the Protocols: the encoder is passed in (``heard_local.adapters.voice_encoder``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from heard_local.domain.voice import Voiceprint
from heard_local.pipeline.protocols import ConversationResult, Waveform

# Enough speech for a stable vector (the encoder averages 1.6 s windows); more only costs time.
MAX_SPEECH_SECONDS = 60.0
# Less speech than this gives no voiceprint: a vector from a few words is too noisy to recognise anyone.
MIN_SPEECH_SECONDS = 2.0
# A speaker is a profile's person when their similarity reaches this (cosine of the two voiceprints;
# calibrated on the shared recordings by benchmarks/voice_threshold.py)…
MATCH_THRESHOLD = 0.84
# …and beats every other profile by this much (otherwise it is ambiguous and left unnamed).
MATCH_MARGIN = 0.05
# Words closer than this are one stretch of speech (the gap between them is kept, as in natural speech).
_JOIN_GAP_SECONDS = 0.3

Span = tuple[float, float]


class SpeechEmbedder(Protocol):
    def embed_speech(self, samples: np.ndarray) -> np.ndarray | None: ...


def merged(spans: Iterable[Span], gap: float = 0.0) -> list[Span]:
    """Overlapping (or nearer than ``gap``) spans joined, in time order."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1] + gap:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """``spans`` minus every part covered by ``cuts`` (both merged and sorted)."""
    out: list[Span] = []
    j = 0
    for start, end in spans:
        while j < len(cuts) and cuts[j][1] <= start:
            j += 1
        k, cursor = j, start
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > cursor:
                out.append((cursor, cuts[k][0]))
            cursor = max(cursor, cuts[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def solo_speech(spans_by_speaker: Mapping[str, Iterable[Span]],
                gap: float = _JOIN_GAP_SECONDS) -> dict[str, list[Span]]:
    """Each speaker's speech with the time any other speaker talks removed."""
    own = {speaker: merged(spans, gap) for speaker, spans in spans_by_speaker.items()}
    solo: dict[str, list[Span]] = {}
    for speaker, spans in own.items():
        others = merged(s for other, o in own.items() if other != speaker for s in o)
        solo[speaker] = subtract(spans, others)
    return solo


def conversation_spans(result: ConversationResult) -> dict[str, list[Span]]:
    """When each speaker spoke: their words' times (a segment's own times when it has no words)."""
    spans: dict[str, list[Span]] = {}
    for index, segment in enumerate(result.segments):
        words = result.words[index] if result.words and index < len(result.words) else None
        if words:
            times = [(float(w["start"]), float(w["end"])) for w in words]
        elif segment.start is not None and segment.end is not None:
            times = [(segment.start, segment.end)]
        else:
            times = []
        spans.setdefault(segment.speaker, []).extend(times)
    return spans


def cut(samples: np.ndarray, spans: list[Span], sample_rate: int,
        max_seconds: float = MAX_SPEECH_SECONDS) -> np.ndarray:
    """The samples of ``spans`` concatenated, at most ``max_seconds`` of them."""
    pieces: list[np.ndarray] = []
    left = int(max_seconds * sample_rate)
    for start, end in spans:
        if left <= 0:
            break
        first = max(0, int(start * sample_rate))
        piece = samples[first:min(samples.size, int(end * sample_rate), first + left)]
        pieces.append(piece)
        left -= piece.size
    return np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)


def voiceprint(samples: np.ndarray, spans: list[Span], sample_rate: int, encoder: SpeechEmbedder) -> Voiceprint | None:
    """One speaker's voiceprint from their ``spans`` of ``samples`` (1-D), or None with too little speech."""
    speech = cut(samples, spans, sample_rate)
    seconds = speech.size / sample_rate
    if seconds < MIN_SPEECH_SECONDS:
        return None
    vector = encoder.embed_speech(speech)
    if vector is None:
        return None
    return Voiceprint(vector=np.asarray(vector, np.float32), speech_seconds=round(seconds, 2))


def conversation_voiceprints(waveform: Waveform, result: ConversationResult,
                             encoder: SpeechEmbedder) -> dict[str, Voiceprint]:
    """Every speaker of ``result`` with enough solo speech, by speaker id (SPEAKER_00…)."""
    prints: dict[str, Voiceprint] = {}
    for speaker, spans in solo_speech(conversation_spans(result)).items():
        channel = result.speaker_channels.get(speaker)
        samples = waveform.samples[channel] if channel is not None else waveform.mono
        found = voiceprint(samples, spans, waveform.sample_rate, encoder)
        if found is not None:
            prints[speaker] = found
    return prints


@dataclass(frozen=True)
class VoiceMatch:
    voice_id: str
    similarity: float


def match_speakers(prints: Mapping[str, np.ndarray], profiles: Mapping[str, np.ndarray], *,
                   threshold: float = MATCH_THRESHOLD, margin: float = MATCH_MARGIN) -> dict[str, VoiceMatch]:
    """The profile each speaker's voice is, where that is clear.

    A speaker gets a profile when their similarity reaches ``threshold`` and beats their next-best profile
    by ``margin``; a profile goes to one speaker of a conversation at most, and to none when a second
    speaker comes within ``margin`` of it too (two voices too alike to tell which one is that person).
    """
    if not prints or not profiles:
        return {}
    speakers, voice_ids = list(prints), list(profiles)
    scores = np.stack([prints[s] for s in speakers]) @ np.stack([profiles[v] for v in voice_ids]).T
    claims: dict[int, list[int]] = {}
    for row in range(len(speakers)):
        order = np.argsort(scores[row])[::-1]
        best = float(scores[row, order[0]])
        second = float(scores[row, order[1]]) if len(order) > 1 else -1.0
        if best >= threshold and best - second >= margin:
            claims.setdefault(int(order[0]), []).append(row)
    matches: dict[str, VoiceMatch] = {}
    for column, rows in claims.items():
        ranked = np.sort(scores[:, column])[::-1]
        winner = max(rows, key=lambda r: scores[r, column])
        if len(ranked) > 1 and ranked[1] >= threshold and ranked[0] - ranked[1] < margin:
            continue
        matches[speakers[winner]] = VoiceMatch(voice_ids[column], round(float(scores[winner, column]), 4))
    return matches
