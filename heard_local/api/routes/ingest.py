"""Ingestion: audio (a URL or an uploaded file) and text transcripts; job status."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from heard_local.api.deps import CallerDep, EngineDep
from heard_local.domain import AudioUrlIngest, IngestMetadata, TranscriptIngest
from heard_local.domain.validation import parse
from heard_local.errors import FileTooLargeError, ValidationError

router = APIRouter(tags=["ingestion"])

_ACCEPTED = {"description": "Accepted: the job is queued", "content": {"application/json": {"example": {
    "job_id": "job_abc123", "status": "processing", "estimated_duration_seconds": 45}}}}
_AUDIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": AudioUrlIngest.model_json_schema()},
            "multipart/form-data": {"schema": {
                "type": "object",
                "required": ["audio_file"],
                "properties": {
                    "audio_file": {"type": "string", "format": "binary"},
                    "metadata": {"type": "string", "description": "The metadata object as a JSON string"},
                    "configuration_id": {"type": "string"},
                },
            }},
        },
    }
}


@router.post("/ingest/transcript", status_code=202, responses={202: _ACCEPTED},
             summary="Submit a text transcript (skip transcription)")
def ingest_transcript(body: TranscriptIngest, engine: EngineDep, _caller: CallerDep) -> JSONResponse:
    submission = engine.submit_transcript(body)
    return JSONResponse(submission.to_api(), status_code=202)


@router.post("/ingest/audio", status_code=202, responses={202: _ACCEPTED}, openapi_extra=_AUDIO_BODY,
             summary="Submit an audio file (multipart audio_file) or an audio_url (JSON)")
async def ingest_audio(request: Request, engine: EngineDep, _caller: CallerDep) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _ingest_upload(request, engine)
    if content_type.startswith("application/json") or not content_type:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValidationError("The request body is not valid JSON", field="body") from None
        if not isinstance(data, dict) or "audio_url" not in data:
            raise ValidationError("One of audio_url (JSON) or audio_file (multipart/form-data) is required",
                                  field="audio_url")
        url_request = parse(AudioUrlIngest, data)
        submission = engine.submit_audio_url(url_request)
        return JSONResponse(submission.to_api(), status_code=202)
    raise ValidationError("Send JSON with audio_url or multipart/form-data with audio_file", field="content-type")


async def _ingest_upload(request: Request, engine: EngineDep) -> JSONResponse:
    limit = engine.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 1024 * 1024:
        raise FileTooLargeError(f"Audio exceeds the maximum size ({limit // (1024 * 1024)} MB)", field="audio_file")
    form = await request.form(max_part_size=limit)
    try:
        upload = form.get("audio_file")
        if upload is None or isinstance(upload, str):
            raise ValidationError("One of audio_url (JSON) or audio_file (multipart/form-data) is required",
                                  field="audio_file")
        raw_metadata = form.get("metadata")
        metadata: dict[str, Any] = {}
        if isinstance(raw_metadata, str) and raw_metadata.strip():
            try:
                metadata = json.loads(raw_metadata)
            except json.JSONDecodeError:
                raise ValidationError("metadata must be a JSON object", field="metadata") from None
            if not isinstance(metadata, dict):
                raise ValidationError("metadata must be a JSON object", field="metadata")
        meta = parse(IngestMetadata, metadata, prefix="metadata")
        configuration = form.get("configuration_id")
        fd, tmp_name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=engine.settings.media_dir)
        tmp = Path(tmp_name)
        try:
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := await upload.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise FileTooLargeError(f"Audio exceeds the maximum size ({limit // (1024 * 1024)} MB)",
                                                field="audio_file")
                    out.write(chunk)
            submission = engine.submit_audio_file(
                tmp, metadata=meta, configuration=configuration if isinstance(configuration, str) else None,
                original_name=upload.filename, move=True,
            )
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        await form.close()
    return JSONResponse(submission.to_api(), status_code=202)


@router.get("/ingest/jobs/{job_id}", summary="Status of an ingestion job")
def job_status(job_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    return engine.job_view(job_id)


@router.get("/jobs/{job_id}", summary="Status of an ingestion job (alias)")
def job_status_alias(job_id: str, engine: EngineDep, _caller: CallerDep) -> dict[str, Any]:
    return engine.job_view(job_id)
