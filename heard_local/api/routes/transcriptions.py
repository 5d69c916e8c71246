"""Transcriptions: list, get, delete, groups, speaker names, re-processing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.api.openapi import MAX_OFFSET, errors
from heard_local.domain import TranscriptionGroup, TranscriptionStatus
from heard_local.store import TranscriptionFilter

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
) -> dict[str, Any]:
    page = engine.transcriptions.list(
        TranscriptionFilter(configuration_id=configuration_id, status=status, group=group, language=language,
                            customer_id=customer_id, channel=channel, search=search, created_from=created_from,
                            created_to=created_to),
        limit=limit, offset=offset,
    )
    return {"transcriptions": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}


@router.get("/transcriptions/{transcription_id}", summary="Get a transcription")
def get_transcription(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    return engine.transcriptions.get(transcription_id).to_api()


@router.patch("/transcriptions/{transcription_id}", summary="Rename a transcription")
def patch_transcription(transcription_id: str, body: TranscriptionPatch, engine: EngineDep,
                        _caller: CallerDep) -> dict[str, Any]:
    return engine.transcriptions.rename(transcription_id, body.name).to_api()


@router.delete("/transcriptions/{transcription_id}", summary="Delete a transcription and its media")
def delete_transcription(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    engine.transcriptions.delete(transcription_id)
    return {"transcription_id": transcription_id, "deleted": True}


@router.post("/update-transcription-group", summary="Set a transcription's group (or null)")
def update_group(body: GroupUpdate, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    transcription = engine.transcriptions.set_group(body.transcription_id, body.group)
    return {"transcription_id": transcription.transcription_id,
            "group": transcription.group.value if transcription.group else None}


@router.post("/transcriptions/{transcription_id}/speakers", summary="Name a speaker (SPEAKER_00 -> 'Sarah')")
def rename_speaker(transcription_id: str, body: SpeakerRename, engine: EngineDep,
                   _caller: CallerDep) -> dict[str, Any]:
    return engine.transcriptions.rename_speaker(transcription_id, body.speaker, body.name).to_api()


@router.post("/transcriptions/{transcription_id}/reprocess", status_code=202,
             summary="Re-run extraction and summary without transcribing again")
def reprocess(transcription_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    job = engine.jobs.reprocess(transcription_id)
    return {"job_id": job.job_id, "status": job.status.api_status, "transcription_id": transcription_id}
