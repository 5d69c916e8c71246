"""Transcriptions: list, get, delete, groups, speaker names, re-processing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import MAX_OFFSET, errors
from heard_local.domain import TranscriptionFilter, TranscriptionGroup, TranscriptionStatus
from heard_local.views import GroupView, ReprocessView, TranscriptionDeleted, TranscriptionPage, TranscriptionView

router = APIRouter(tags=["transcriptions"], responses=errors(404, 409))


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transcription_id: str
    group: TranscriptionGroup | None


class SpeakerRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: str = Field(pattern=r"^SPEAKER_\d{2,}$")
    name: str | None = Field(default=None, max_length=100)


class TranscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255)


@router.get("/transcriptions", summary="List transcriptions (filtered, paginated, newest first)")
def list_transcriptions(
    engine: EngineDep,
    _caller: CallerDep,
    configuration_id: str | None = None,
    status: TranscriptionStatus | None = None,
    group: TranscriptionGroup | None = None,
    language: str | None = None,
    customer_id: str | None = None,
    channel: str | None = None,
    search: Annotated[str | None, Query(max_length=200, description="Text in the transcript or name")] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> TranscriptionPage:
    page = engine.transcriptions.list(
        TranscriptionFilter(configuration_id=configuration_id, status=status, group=group, language=language,
                            customer_id=customer_id, channel=channel, search=search, created_from=created_from,
                            created_to=created_to),
        limit=limit, offset=offset,
    )
    return TranscriptionPage.of(page)


@router.get("/transcriptions/{transcription_id}", summary="Get a transcription", response_model=TranscriptionView,
            response_model_exclude_unset=True)
def get_transcription(
    transcription_id: str, engine: EngineDep, _caller: CallerDep,
    words: Annotated[bool, Query(description="Add each segment's timed words: [{word, start, end, probability}]")]
    = False,
) -> Any:
    transcription = engine.transcriptions.get(transcription_id)
    if words:  # the documented shape plus ``words`` per segment, which the view leaves out
        return JSONResponse(transcription.to_api(words=True))
    return TranscriptionView.of(transcription)


@router.patch("/transcriptions/{transcription_id}", summary="Rename a transcription",
              response_model_exclude_unset=True)
def patch_transcription(transcription_id: str, body: TranscriptionPatch, engine: EngineDep,
                        _caller: CallerDep) -> TranscriptionView:
    return TranscriptionView.of(engine.transcriptions.rename(transcription_id, body.name))


@router.delete("/transcriptions/{transcription_id}", summary="Delete a transcription and its media")
def delete_transcription(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> TranscriptionDeleted:
    engine.transcriptions.delete(transcription_id)
    return TranscriptionDeleted(transcription_id=transcription_id)


@router.post("/update-transcription-group", summary="Set a transcription's group (or null)")
def update_group(body: GroupUpdate, engine: EngineDep, _caller: CallerDep) -> GroupView:
    return GroupView.of(engine.transcriptions.set_group(body.transcription_id, body.group))


@router.post("/transcriptions/{transcription_id}/speakers", summary="Name a speaker (SPEAKER_00 -> 'Sarah')",
             response_model_exclude_unset=True)
def rename_speaker(transcription_id: str, body: SpeakerRename, engine: EngineDep,
                   _caller: CallerDep) -> TranscriptionView:
    return TranscriptionView.of(engine.transcriptions.rename_speaker(transcription_id, body.speaker, body.name))


@router.post("/transcriptions/{transcription_id}/reprocess", status_code=202,
             summary="Re-run extraction and summary without transcribing again")
def reprocess(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> ReprocessView:
    return ReprocessView.of(engine.jobs.reprocess(transcription_id))
