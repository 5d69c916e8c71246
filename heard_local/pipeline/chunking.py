"""Fitting a conversation into a local model's context window.

Transcripts are rendered one segment per line, ``[12] Customer: text``, so the model can cite where a
value came from by segment number. When the lines do not fit in the token budget they are packed into
consecutive chunks (map-reduce), never truncated: a segment too long for one chunk is split by words
and every piece keeps its ``[index] Speaker:`` prefix.

Token counts are estimated without a tokenizer (none is available for an arbitrary Ollama model):
one token per three UTF-8 bytes over-counts English (about four characters per token) and matches
CJK scripts (three bytes per character, about one token each), so a chunk never overflows.
"""

from __future__ import annotations

from dataclasses import dataclass

from heard_local.domain import Segment

BYTES_PER_TOKEN = 3
# A budget below this cannot hold a meaningful piece of conversation; a tiny context setting is
# treated as this much rather than producing thousands of one-word chunks.
MIN_CHUNK_TOKENS = 128


def estimate_tokens(text: str) -> int:
    return len(text.encode("utf-8")) // BYTES_PER_TOKEN + 1


@dataclass(frozen=True)
class TranscriptLine:
    segment_index: int
    text: str  # rendered: "[index] Speaker: words"


@dataclass(frozen=True)
class Chunk:
    lines: tuple[TranscriptLine, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def first_segment(self) -> int:
        return self.lines[0].segment_index

    @property
    def last_segment(self) -> int:
        return self.lines[-1].segment_index


def speaker_name(segment: Segment, labels: dict[str, str]) -> str:
    return labels.get(segment.speaker) or segment.speaker


def render_lines(segments: list[Segment], labels: dict[str, str]) -> list[TranscriptLine]:
    return [
        TranscriptLine(index, f"[{index}] {speaker_name(segment, labels)}: {' '.join(segment.text.split())}")
        for index, segment in enumerate(segments)
        if segment.text.strip()
    ]


def _split_long_line(line: TranscriptLine, budget: int) -> list[TranscriptLine]:
    prefix, _, body = line.text.partition(": ")
    prefix += ": "
    pieces: list[TranscriptLine] = []
    words: list[str] = []
    size = estimate_tokens(prefix)
    for word in body.split(" "):
        cost = estimate_tokens(word + " ")
        if words and size + cost > budget:
            pieces.append(TranscriptLine(line.segment_index, prefix + " ".join(words)))
            words, size = [], estimate_tokens(prefix)
        words.append(word)
        size += cost
    if words:
        pieces.append(TranscriptLine(line.segment_index, prefix + " ".join(words)))
    return pieces


def chunk_lines(lines: list[TranscriptLine], budget_tokens: int) -> list[Chunk]:
    """Pack lines, in order, into as few chunks as fit ``budget_tokens`` each."""
    budget = max(MIN_CHUNK_TOKENS, budget_tokens)
    chunks: list[Chunk] = []
    current: list[TranscriptLine] = []
    size = 0
    for line in lines:
        pieces = [line] if estimate_tokens(line.text) <= budget else _split_long_line(line, budget)
        for piece in pieces:
            cost = estimate_tokens(piece.text + "\n")
            if current and size + cost > budget:
                chunks.append(Chunk(tuple(current)))
                current, size = [], 0
            current.append(piece)
            size += cost
    if current:
        chunks.append(Chunk(tuple(current)))
    return chunks


def chunk_texts(texts: list[str], budget_tokens: int) -> list[list[str]]:
    """Group free texts (partial summaries) into batches that fit ``budget_tokens`` each; a text
    larger than the budget is a batch of its own (it was produced to fit, so it is not split)."""
    budget = max(MIN_CHUNK_TOKENS, budget_tokens)
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for text in texts:
        cost = estimate_tokens(text + "\n\n")
        if current and size + cost > budget:
            batches.append(current)
            current, size = [], 0
        current.append(text)
        size += cost
    if current:
        batches.append(current)
    return batches
