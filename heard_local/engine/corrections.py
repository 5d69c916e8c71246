"""Corrections of a finished transcript (the API's PATCH/merge/split/undo on segments, the UI's inline
edits): each is one undoable edit in the store; the LLM stage re-runs on the corrected text on request
(``Engine.reprocess``), because it reads the stored segments."""

from __future__ import annotations

from typing import Any

from heard_local.domain import Segment, Transcription
from heard_local.pipeline.segment_edits import edit_segment, merge_segments, split_segment
from heard_local.store import Store
from heard_local.store.segment_edits import SegmentEdit


class TranscriptCorrections:
    def __init__(self, store: Store):
        self.store = store

    def edit(self, transcription_id: str, index: int, *, text: str | None = None,
             speaker: str | None = None) -> Transcription:
        """New text for segment ``index`` and/or another speaker for it."""
        change = {k: v for k, v in {"text": text, "speaker": speaker}.items() if v is not None}
        self.store.segment_edits.apply(transcription_id, kind="edit", segment_index=index, change=change,
                                       edit=lambda segments: edit_segment(segments, index, text=text,
                                                                          speaker=speaker))
        return self.store.transcriptions.get(transcription_id)

    def merge(self, transcription_id: str, index: int) -> Transcription:
        """Segment ``index`` and the next one as one."""
        self.store.segment_edits.apply(transcription_id, kind="merge", segment_index=index, change={},
                                       edit=lambda segments: merge_segments(segments, index))
        return self.store.transcriptions.get(transcription_id)

    def split(self, transcription_id: str, index: int, word_index: int) -> Transcription:
        """Segment ``index`` as two, the second from word ``word_index`` on."""
        self.store.segment_edits.apply(transcription_id, kind="split", segment_index=index,
                                       change={"word_index": word_index},
                                       edit=lambda segments: split_segment(segments, index, word_index))
        return self.store.transcriptions.get(transcription_id)

    def undo(self, transcription_id: str, *, all_edits: bool = False) -> Transcription:
        """The last correction undone (``all_edits``: back to the recogniser's original)."""
        self.store.segment_edits.undo(transcription_id, all_edits=all_edits)
        return self.store.transcriptions.get(transcription_id)

    def count(self, transcription_id: str) -> int:
        """How many corrections can be undone."""
        return len(self.store.segment_edits.history(transcription_id))

    def history(self, transcription_id: str) -> dict[str, Any]:
        """The corrections in order and the original segments (before the first one)."""
        transcription = self.store.transcriptions.get(transcription_id)  # 404 for an unknown id
        edits: list[SegmentEdit] = self.store.segment_edits.history(transcription_id)
        original: list[Segment] | None = self.store.segment_edits.original(transcription_id)
        if original is None and transcription.details is not None:
            original = transcription.details.conversation.segments
        return {"transcription_id": transcription_id, "edits": [e.to_api() for e in edits],
                "original_segments": [s.model_dump(mode="json") for s in original or []]}

    def redactions(self, transcription_id: str) -> dict[str, Any]:
        """The spans the configuration's ``redact`` took out of this transcript."""
        self.store.transcriptions.get(transcription_id)  # 404 for an unknown id
        return {"transcription_id": transcription_id,
                "redactions": [s.model_dump(mode="json") for s in self.store.redactions.spans(transcription_id)]}
