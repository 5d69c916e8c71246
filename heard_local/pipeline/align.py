"""Alignment: the transcriber's timed words + the diarizer's speaker turns -> speaker-labelled segments.

Each word goes to the turn it overlaps most (a word in a gap between turns goes to the nearest turn;
a recording transcribed per channel needs no turns: :func:`align_channels`);
consecutive words of one speaker form a segment, which also ends at a long pause or, once long, at the
end of a sentence, so segments stay readable. Speakers are renumbered SPEAKER_00, SPEAKER_01… in order
of first appearance; a turn in which no word falls leaves no trace.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from heard_local.domain import Segment
from heard_local.domain.transcription import speaker_id
from heard_local.pipeline.protocols import AsrSegment, SpeakerTurn, Word

# (channel label, start, end) -> mean power of that channel over [start, end] seconds.
Loudness = Callable[[str, float, float], float]
# A pause this long starts a new segment even when the same person goes on.
PAUSE_SECONDS = 2.0
# A segment this long ends at the next sentence end…
SOFT_MAX_SECONDS = 30.0
# …and at the next word once this long, sentence end or not.
HARD_MAX_SECONDS = 60.0
_SENTENCE_END = (".", "?", "!", "。", "？", "！", "…")


@dataclass
class Alignment:
    segments: list[Segment]
    words: list[list[dict[str, Any]]]
    # SPEAKER_xx -> the diarizer's label it came from.
    labels: dict[str, str] = field(default_factory=dict)

    def roles(self, by_label: dict[str, str]) -> dict[str, str]:
        """The diarizer's roles (by its labels) under the new speaker ids."""
        return {new: by_label[old] for new, old in self.labels.items() if old in by_label}


class _TurnIndex:
    """Turns sorted by start, for overlap queries without scanning every turn per word."""

    def __init__(self, turns: list[SpeakerTurn]):
        self.turns = sorted((t for t in turns if t.end > t.start), key=lambda t: (t.start, t.end))
        self.starts = [t.start for t in self.turns]
        # Running maximum of ends (and which turn has it): lets a backwards scan stop early, and finds
        # the turn that ended last before a gap.
        self.max_end: list[float] = []
        self.max_end_turn: list[int] = []
        for i, turn in enumerate(self.turns):
            if not self.max_end or turn.end > self.max_end[-1]:
                self.max_end.append(turn.end)
                self.max_end_turn.append(i)
            else:
                self.max_end.append(self.max_end[-1])
                self.max_end_turn.append(self.max_end_turn[-1])

    def overlaps(self, start: float, end: float) -> bool:
        """Whether any turn overlaps [start, end]."""
        j = bisect.bisect_left(self.starts, end) - 1
        return j >= 0 and self.max_end[j] > start

    def speaker_for(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        best: SpeakerTurn | None = None
        best_overlap = 0.0
        j = bisect.bisect_left(self.starts, end) - 1  # turns[0..j] start before the word ends
        while j >= 0 and self.max_end[j] > start:
            turn = self.turns[j]
            overlap = min(end, turn.end) - max(start, turn.start)
            # ties go to the earlier-starting turn (visited later in this backwards walk)
            if overlap > 0 and overlap >= best_overlap:
                best, best_overlap = turn, overlap
            j -= 1
        if best is not None:
            return best.speaker
        return self._nearest(start, end)

    def _nearest(self, start: float, end: float) -> str:
        """For a word in a gap: the turn that ended last before it or the next one, whichever is closer."""
        j = bisect.bisect_left(self.starts, end) - 1
        before = self.turns[self.max_end_turn[j]] if j >= 0 else None
        after = self.turns[j + 1] if j + 1 < len(self.turns) else None
        if before is None:
            return after.speaker  # type: ignore[union-attr]  # turns is not empty
        if after is None or start - before.end <= after.start - end:
            return before.speaker
        return after.speaker


def words_of(segments: list[AsrSegment]) -> list[Word]:
    """Every word in time order; a segment without word timings counts as one word spanning it."""
    words: list[Word] = []
    for segment in segments:
        if segment.words:
            words.extend(w for w in segment.words if w.text.strip())
        elif segment.text.strip():
            words.append(Word(start=segment.start, end=segment.end, text=segment.text, probability=1.0))
    words.sort(key=lambda w: (w.start, w.end))
    return words


def assign_speakers(words: list[Word], turns: list[SpeakerTurn], default: str = "speaker") -> list[str]:
    """The diarizer label of each word (``default`` when there are no turns at all)."""
    index = _TurnIndex(turns)
    return [index.speaker_for(w.start, max(w.end, w.start)) or default for w in words]


def align(segments: list[AsrSegment], turns: list[SpeakerTurn]) -> Alignment:
    words = words_of(segments)
    return _numbered(_grouped(words, assign_speakers(words, turns)))


def align_channels(channels: list[tuple[str, list[AsrSegment]]], turns: list[SpeakerTurn] | None = None,
                   loudness: Loudness | None = None) -> Alignment:
    """Segments of a recording transcribed channel by channel, one party per channel: each channel's words
    are its party's (no turn lookup: the attribution is exact), grouped into that party's segments, and
    the segments of all channels merged by start time. A party's segment ends where the other party said
    a word while it was silent (so the conversation reads in order); speech at the same time on two
    channels stays two overlapping segments, each with its own words.

    ``turns`` (the channel diarizer's, labelled like the channels, crosstalk removed) drop the other
    party leaking into a channel: Whisper hears speech whatever its level, so a channel carrying the other
    side 20 dB down would repeat their words. A word is dropped when its channel has no turn there while
    another channel has one. Stronger leaks (both channels active): ``loudness(label, start, end)`` drops
    a word that another channel also has at the same time, louder."""
    words = {label: words_of(segments) for label, segments in channels}
    if turns:
        words = {label: without_leaks(own, label, turns) for label, own in words.items()}
    if loudness is not None:
        words = without_echoes(words, loudness)
    groups: list[tuple[str, list[Word]]] = []
    for label, own in words.items():
        others = sorted(((w.start, w.end) for other, ws in words.items() if other != label for w in ws))
        other_starts = [start for start, _ in others]
        for group in _grouped(own, [label] * len(own)):
            groups.extend(_split_at_replies(group, others, other_starts))
    groups.sort(key=lambda group: (group[1][0].start, group[1][-1].end))
    return _numbered(groups)


def without_leaks(words: list[Word], label: str, turns: list[SpeakerTurn]) -> list[Word]:
    own = _TurnIndex([t for t in turns if t.speaker == label])
    others = _TurnIndex([t for t in turns if t.speaker != label])
    return [w for w in words if own.overlaps(w.start, w.end) or not others.overlaps(w.start, w.end)]


def without_echoes(words: dict[str, list[Word]], loudness: Loudness) -> dict[str, list[Word]]:
    """Each word said on two channels at the same time kept only on the channel where it is louder."""
    keyed = {label: [(w.start, w.end, _word_key(w.text)) for w in ws] for label, ws in words.items()}
    starts = {label: [k[0] for k in ks] for label, ks in keyed.items()}
    kept: dict[str, list[Word]] = {}
    for label, own in words.items():
        kept[label] = []
        for word in own:
            key = _word_key(word.text)
            echo_of = [other for other in words if other != label
                       and _has_word_at(keyed[other], starts[other], key, word.start, word.end)]
            here = loudness(label, word.start, word.end)
            if not any(loudness(other, word.start, word.end) > here for other in echo_of):
                kept[label].append(word)
    return kept


def _word_key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _has_word_at(keyed: list[tuple[float, float, str]], starts: list[float], key: str, start: float,
                 end: float, slack: float = 0.3) -> bool:
    i = bisect.bisect_left(starts, start - 2.0)  # words are shorter than 2 s
    while i < len(keyed) and keyed[i][0] <= end + slack:
        _, other_end, other_key = keyed[i]
        if other_key == key and other_end >= start - slack:
            return True
        i += 1
    return False


def _split_at_replies(group: tuple[str, list[Word]], others: list[tuple[float, float]],
                      other_starts: list[float]) -> list[tuple[str, list[Word]]]:
    """``group`` split before each word whose preceding silence holds a whole word of another party."""
    label, words = group
    parts: list[tuple[str, list[Word]]] = [(label, [words[0]])]
    for previous, word in itertools.pairwise(words):
        i = bisect.bisect_left(other_starts, previous.end)
        if i < len(others) and others[i][1] <= word.start:
            parts.append((label, [word]))
        else:
            parts[-1][1].append(word)
    return parts


def _grouped(words: list[Word], labels: list[str]) -> list[tuple[str, list[Word]]]:
    """Consecutive words of one speaker as one group, split at long pauses and long sentences."""
    groups: list[tuple[str, list[Word]]] = []
    for word, label in zip(words, labels, strict=True):
        if groups and groups[-1][0] == label and not _breaks(groups[-1][1], word):
            groups[-1][1].append(word)
        else:
            groups.append((label, [word]))
    return groups


def _numbered(groups: list[tuple[str, list[Word]]]) -> Alignment:
    """Segments and their words, speakers renumbered SPEAKER_00… in order of first appearance."""
    numbering: dict[str, str] = {}
    result = Alignment(segments=[], words=[])
    for label, group in groups:
        speaker = numbering.setdefault(label, speaker_id(len(numbering)))
        result.segments.append(Segment(text=_join(group), speaker=speaker, start=round(group[0].start, 3),
                                       end=round(max(w.end for w in group), 3)))
        result.words.append([{"start": round(w.start, 3), "end": round(w.end, 3), "word": w.text,
                              "probability": round(w.probability, 4)} for w in group])
    result.labels = {new: old for old, new in numbering.items()}
    return result


def _breaks(group: list[Word], word: Word) -> bool:
    """Whether ``word`` starts a new segment although its speaker did not change."""
    last = group[-1]
    if word.start - last.end >= PAUSE_SECONDS:
        return True
    length = last.end - group[0].start
    if length >= HARD_MAX_SECONDS:
        return True
    return length >= SOFT_MAX_SECONDS and last.text.rstrip().endswith(_SENTENCE_END)


def _join(words: list[Word]) -> str:
    """Whisper words carry their own leading spaces (none in languages written without them)."""
    return "".join(w.text for w in words).strip()
