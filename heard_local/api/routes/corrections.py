"""Corrections of a transcript's segments: edit a line's text or speaker, merge two lines, split one at a
word, undo; and the spans redaction took out of it. Every correction answers with the corrected
transcription, each segment with its ``words`` (the indexes a split takes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import errors
from heard_local.domain.transcription import MAX_SEGMENT_TEXT

router = APIRouter(tags=["corrections"], responses=errors(400, 404, 409))

SegmentIndex = Annotated[int, Path(ge=0, le=1_000_000, description="0-based position of the segment")]


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, min_length=1, max_length=MAX_SEGMENT_TEXT)
    speaker: str | None = Field(default=None, pattern=r"^SPEAKER_\d{2,}$",
                                description="Move the line to this speaker (an id like SPEAKER_01)")


class SegmentSplit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    word_index: int = Field(ge=1, description="0-based index of the first word of the second part")


@router.patch("/transcriptions/{transcription_id}/segments/{index}",
              summary="Correct a segment's text or move it to another speaker (undoable)")
def patch_segment(transcription_id: str, index: SegmentIndex, body: SegmentPatch, engine: EngineDep,
                  _caller: CallerDep) -> dict[str, Any]:
    return engine.corrections.edit(transcription_id, index, text=body.text, speaker=body.speaker).to_api(words=True)


@router.post("/transcriptions/{transcription_id}/segments/{index}/merge",
             summary="Merge a segment with the next one (undoable)")
def merge_segment(transcription_id: str, index: SegmentIndex, engine: EngineDep,
                  _caller: CallerDep) -> dict[str, Any]:
    return engine.corrections.merge(transcription_id, index).to_api(words=True)


@router.post("/transcriptions/{transcription_id}/segments/{index}/split",
             summary="Split a segment before one of its words (undoable)")
def split_segment(transcription_id: str, index: SegmentIndex, body: SegmentSplit, engine: EngineDep,
                  _caller: CallerDep) -> dict[str, Any]:
    return engine.corrections.split(transcription_id, index, body.word_index).to_api(words=True)


@router.post("/transcriptions/{transcription_id}/segments/undo",
             summary="Undo the last correction (all=true: every correction, back to the recogniser's output)")
def undo_correction(transcription_id: str, engine: EngineDep, _caller: CallerDep,
                    all: Annotated[bool, Query(description="Undo every correction")] = False) -> dict[str, Any]:
    return engine.corrections.undo(transcription_id, all_edits=all).to_api(words=True)


@router.get("/transcriptions/{transcription_id}/segments/edits",
            summary="The corrections made, in order, and the original segments")
def correction_history(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    return engine.corrections.history(transcription_id)


@router.get("/transcriptions/{transcription_id}/redactions",
            summary="The spans the configuration's redact took out (kind, segment, offsets of the tag, seconds)")
def redactions(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    return engine.corrections.redactions(transcription_id)
